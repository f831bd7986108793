//! Spreading CPU-bound work over a slice across the machine's cores: the
//! one helper verification, the checks before ingest, and search share.

/// `part` applied to consecutive parts of `items`, one per core (at most 8),
/// the results concatenated in order; on the calling thread when there is
/// one core or fewer than `min_parallel` items. The threads are scoped and
/// joined before this returns, so callers stay deterministic and do no I/O.
/// A part whose thread panicked gives `on_panic` for each of its items, so
/// one bad item costs its part, never the caller.
pub fn map_parts<T: Sync, R: Send>(
    items: &[T],
    min_parallel: usize,
    part: impl Fn(&[T]) -> Vec<R> + Sync,
    on_panic: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get().min(8))
        .unwrap_or(1);
    if threads < 2 || items.len() < min_parallel.max(2) {
        return part(items);
    }
    let chunk = items.len().div_ceil(threads);
    let part = &part;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|p| scope.spawn(move || part(p)))
            .collect();
        handles
            .into_iter()
            .zip(items.chunks(chunk))
            .flat_map(|(h, p)| {
                h.join()
                    .unwrap_or_else(|_| p.iter().map(&on_panic).collect())
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_come_back_in_order_and_a_panicking_part_gives_its_fallback() {
        let items: Vec<u32> = (0..1000).collect();
        let doubled = map_parts(&items, 10, |p| p.iter().map(|x| x * 2).collect(), |_| 0);
        assert_eq!(doubled, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        let small = map_parts(
            &items[..3],
            10,
            |p| p.iter().map(|x| x + 1).collect(),
            |_| 0,
        );
        assert_eq!(small, [1, 2, 3]);
        if std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2 {
            let out = map_parts(
                &items,
                10,
                |p| {
                    assert!(!p.contains(&999), "a bad item");
                    p.to_vec()
                },
                |_| u32::MAX,
            );
            assert_eq!(out.len(), 1000);
            assert_eq!(out[0], 0, "the other parts are kept");
            assert_eq!(out[999], u32::MAX, "the bad item's part gives the fallback");
        }
    }
}
