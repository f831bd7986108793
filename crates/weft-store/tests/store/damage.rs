//! A file with a damaged page: the check finds it, every query that meets it reports
//! the one clear error, and a salvage still reads every row the damage spared.

use weft_core::{Coded, DocId, ErrorCode};
use weft_store::{Salvage, Store, StoreError, StoreRead};

use crate::{fixture, seal};

#[test]
fn a_damaged_index_page_fails_the_check_and_the_rows_are_still_salvaged() {
    let (f, mut store) = fixture();
    let doc = DocId::random();
    store
        .write(|tx| -> Result<(), StoreError> {
            for seq in 1..=300 {
                tx.append(&seal(&f, &f.dev, doc, seq, &[7; 100]), 10)?;
            }
            Ok(())
        })
        .unwrap();
    assert!(store.check().is_ok());
    drop(store);

    // Overwrite a leaf page of the index by document, in the middle of the file.
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    let size: u64 = conn
        .pragma_query_value(None, "page_size", |r| r.get::<_, i64>(0))
        .unwrap() as u64;
    let page: i64 = conn
        .query_row(
            "SELECT pageno FROM dbstat WHERE name = 'changes_by_doc' AND pagetype = 'leaf'
             ORDER BY pageno LIMIT 1 OFFSET 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    drop(conn);
    let mut bytes = std::fs::read(&f.path).unwrap();
    let at = (page as u64 - 1) * size;
    bytes[at as usize..at as usize + 64].fill(0x5a);
    std::fs::write(&f.path, bytes).unwrap();

    // Opening touches no index page; the check and a read by document do.
    let store = Store::open(&f.path).unwrap();
    let err = store.check().unwrap_err();
    assert_eq!(err.code(), ErrorCode::Corrupt);
    assert!(err.to_string().contains("is damaged"), "{err}");
    assert!(err.to_string().contains("`weft doctor`"), "{err}");
    let err = store.changes_of_doc(&doc, 0).unwrap_err();
    assert!(matches!(err, StoreError::Damaged { .. }), "{err}");
    drop(store);

    // The table itself is whole: every row reads by its id.
    let s = Salvage::open(&f.path).unwrap();
    assert_eq!(s.workspace(), Some(f.ws));
    assert_eq!(s.last_row(), 300);
    let seqs: Vec<u64> = (1..=300)
        .map(|id| s.change(f.ws, id).unwrap().unwrap().change.header().seq)
        .collect();
    assert_eq!(seqs, (1..=300).collect::<Vec<_>>());
    assert_eq!(s.heads(), Some(vec![(f.dev.device_id(), 300)]));
}
