//! Invite codes: round trips, the pinned format of docs/protocol.md, typo
//! detection, forgiving input, and every decode error.

use proptest::prelude::*;
use sha2::{Digest, Sha256};
use weft_core::WorkspaceId;
use weft_crypto::{Invite, InviteError, WorkspaceKey};

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A code for arbitrary payload bytes, written straight from the spec
/// (bit by bit, independently of the crate's encoder): prefix, base32 of the
/// bytes and their SHA-256 checksum. Lets tests build codes the encoder
/// would never write but whose checksum is right.
fn raw_code(content: &[u8]) -> String {
    let mut bytes = content.to_vec();
    bytes.extend_from_slice(&Sha256::digest(content)[..4]);
    let bits: Vec<u8> = bytes
        .iter()
        .flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1))
        .collect();
    let mut s = String::from("weft1-");
    for chunk in bits.chunks(5) {
        let mut v = 0usize;
        for i in 0..5 {
            v = (v << 1) | usize::from(chunk.get(i).copied().unwrap_or(0));
        }
        s.push(char::from(CROCKFORD[v]));
    }
    s
}

/// Version, workspace id and key: the fixed start of every v1 payload.
fn header(ws: u8, key: u8) -> Vec<u8> {
    let mut v = vec![1u8];
    v.extend_from_slice(&[ws; 16]);
    v.extend_from_slice(&[key; 32]);
    v
}

fn invite(name: &str, relays: &[&str], peers: &[&str]) -> Invite {
    Invite {
        workspace: WorkspaceId::from_bytes([0x11; 16]),
        key: WorkspaceKey::from_bytes([0x22; 32]),
        relays: relays.iter().map(|s| s.to_string()).collect(),
        peers: peers.iter().map(|s| s.to_string()).collect(),
        name: name.to_owned(),
    }
}

/// The example of docs/protocol.md, "Invite codes".
const PINNED: &str = "weft1-048H248H248H248H248H248H248J48H248H248H248H248H248H248H248H248H248H248H248H248G491QPTS800401EBV9E0T2YC9S68Q30BHJ5RRJYX33E0QK8C1G65TTGS5R";

fn pinned() -> Invite {
    invite("Home", &[], &["/ip4/192.0.2.1/tcp/4001"])
}

/// Field-by-field equality (Invite has no PartialEq: comparing secrets is
/// not something the library should make casual).
fn assert_same(a: &Invite, b: &Invite) {
    assert_eq!(a.workspace, b.workspace);
    assert_eq!(a.key.expose_secret(), b.key.expose_secret());
    assert_eq!(a.name, b.name);
    assert_eq!(a.relays, b.relays);
    assert_eq!(a.peers, b.peers);
}

#[test]
fn the_format_is_the_documented_one() {
    assert_eq!(pinned().encode(), PINNED);
    // The same code written from the spec by the independent encoder.
    let mut content = header(0x11, 0x22);
    content.extend_from_slice(&[4, b'H', b'o', b'm', b'e', 0, 1, 0, 23]);
    content.extend_from_slice(b"/ip4/192.0.2.1/tcp/4001");
    assert_eq!(raw_code(&content), PINNED);
    assert_same(&Invite::decode(PINNED).unwrap(), &pinned());
}

fn address() -> impl Strategy<Value = String> {
    prop_oneof![
        "/ip4/[0-9.]{7,15}/tcp/[0-9]{1,5}(/p2p/12D3KooW[1-9A-HJ-NP-Za-km-z]{44})?",
        // At most 240 bytes: within the bound.
        "\\PC{0,60}",
    ]
}

proptest! {
    #[test]
    fn round_trips(
        ws in any::<[u8; 16]>(),
        key in any::<[u8; 32]>(),
        // At most 63 characters of at most 4 bytes: within the 255-byte bound.
        name in "\\PC{0,63}",
        relays in prop::collection::vec(address(), 0..=16),
        peers in prop::collection::vec(address(), 0..=16),
    ) {
        let inv = Invite {
            workspace: WorkspaceId::from_bytes(ws),
            key: WorkspaceKey::from_bytes(key),
            relays,
            peers,
            name,
        };
        let code = inv.encode();
        let (prefix, body) = code.split_at(6);
        prop_assert_eq!(prefix, "weft1-");
        prop_assert!(body.bytes().all(|c| CROCKFORD.contains(&c)), "{}", code);
        assert_same(&Invite::decode(&code).unwrap(), &inv);
    }

    /// Past the bounds, encode follows its documented rule and still writes
    /// a code that decodes.
    #[test]
    fn oversized_invites_encode_to_the_documented_subset(
        name in "\\PC{0,300}",
        relays in prop::collection::vec("[a-z]{250,260}", 0..24),
        peers in prop::collection::vec(address(), 0..24),
    ) {
        let inv = Invite {
            workspace: WorkspaceId::from_bytes([1; 16]),
            key: WorkspaceKey::from_bytes([2; 32]),
            relays: relays.clone(),
            peers: peers.clone(),
            name: name.clone(),
        };
        let back = Invite::decode(&inv.encode()).unwrap();
        let kept = |l: &[String]| -> Vec<String> {
            l.iter().filter(|a| a.len() <= 255).take(16).cloned().collect()
        };
        prop_assert_eq!(back.relays, kept(&relays));
        prop_assert_eq!(back.peers, kept(&peers));
        // The longest whole-character prefix of at most 255 bytes.
        prop_assert!(name.starts_with(&back.name));
        prop_assert!(back.name.len() <= 255);
        if back.name.len() < name.len() {
            let next = name[back.name.len()..].chars().next().unwrap();
            prop_assert!(back.name.len() + next.len_utf8() > 255);
        }
    }
}

/// Every character of a real code replaced by every other character a
/// person might type is caught: either an error, or (case and Crockford's
/// aliases) the very same invite. Never a different valid invite.
#[test]
fn every_single_character_substitution_is_caught() {
    let inv = invite(
        "Family notes",
        &["/dns4/relay.example.org/tcp/443"],
        &["/ip4/192.168.1.20/tcp/4001/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"],
    );
    let code = inv.encode();
    let mut candidates: Vec<char> = ('0'..='9').chain('A'..='Z').chain('a'..='z').collect();
    candidates.extend(['-', ' ', '!', '=', 'é', '\n']);
    let value = |c: char| -> Option<usize> {
        let c = match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        CROCKFORD.iter().position(|&a| char::from(a) == c)
    };
    let chars: Vec<char> = code.chars().collect();
    let mut tried = 0;
    for (i, &orig) in chars.iter().enumerate() {
        for &c in &candidates {
            if c == orig {
                continue;
            }
            let mut changed = chars.clone();
            changed[i] = c;
            let changed: String = changed.into_iter().collect();
            tried += 1;
            let same_meaning = if i < 6 {
                c.eq_ignore_ascii_case(&orig)
            } else {
                value(c).is_some() && value(c) == value(orig)
            };
            match Invite::decode(&changed) {
                Ok(back) => {
                    assert!(same_meaning, "{orig:?}->{c:?} at {i} decoded: {changed}");
                    assert_same(&back, &inv);
                }
                Err(e) => assert!(!same_meaning, "{orig:?}->{c:?} at {i}: {e}"),
            }
        }
    }
    assert!(tried > 100 * candidates.len());
}

#[test]
fn case_spaces_dashes_and_aliases_are_forgiven() {
    let expect = pinned();
    let body = &PINNED[6..];
    let blocks: Vec<String> = body
        .as_bytes()
        .chunks(5)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    let variants = [
        PINNED.to_lowercase(),
        PINNED.to_uppercase(),
        format!("  {PINNED}\n"),
        format!("weft1-{}", blocks.join("-")),
        format!("weft1-{}", blocks.join(" ")),
        // Split across lines as an email client might wrap it.
        format!(
            "weft1-{}\n{}\r\n\t{}",
            &body[..40],
            &body[40..90],
            &body[90..]
        ),
        // Crockford's aliases: O for 0, I and L for 1.
        format!("weft1-{}", body.replace('0', "O").replace('1', "I")),
        format!("weft1-{}", body.replace('1', "l")),
    ];
    for v in &variants {
        match Invite::decode(v) {
            Ok(back) => assert_same(&back, &expect),
            Err(e) => panic!("{v:?}: {e}"),
        }
    }
}

#[test]
fn text_that_is_no_invite_is_refused_by_its_prefix() {
    for s in [
        "",
        "weft1",
        "weft2-048H",
        "hello",
        &PINNED[6..],
        "weft 1-048H",
    ] {
        let err = Invite::decode(s).unwrap_err();
        assert_eq!(err, InviteError::MissingPrefix, "{s:?}");
    }
    assert_eq!(
        InviteError::MissingPrefix.to_string(),
        "this is not a Weft invite code: it should start with weft1-"
    );
}

#[test]
fn a_foreign_character_is_named_with_its_position() {
    let mut code = PINNED.to_owned();
    code.replace_range(9..10, "U");
    let err = Invite::decode(&code).unwrap_err();
    assert_eq!(
        err,
        InviteError::InvalidCharacter {
            character: 'U',
            position: 10
        }
    );
    let msg = err.to_string();
    assert!(msg.contains("'U'") && msg.contains("position 10"), "{msg}");
    // Positions count characters of what was given, leading spaces included.
    let code = format!("  weft1-é{}", &PINNED[6..]);
    assert_eq!(
        Invite::decode(&code).unwrap_err(),
        InviteError::InvalidCharacter {
            character: 'é',
            position: 9
        }
    );
}

#[test]
fn typos_read_as_mistyped() {
    let body = &PINNED[6..];
    let dropped = format!("weft1-{}{}", &body[..20], &body[21..]);
    let doubled = format!("weft1-{}{}", &body[..20], &body[19..]);
    let swapped = format!(
        "weft1-{}{}{}{}",
        &body[..20],
        &body[21..22],
        &body[20..21],
        &body[22..]
    );
    let cut = &PINNED[..PINNED.len() - 10];
    for code in [dropped.as_str(), &doubled, &swapped, cut] {
        assert_eq!(
            Invite::decode(code).unwrap_err(),
            InviteError::Mistyped,
            "{code}"
        );
    }
    let msg = InviteError::Mistyped.to_string();
    assert_eq!(
        msg,
        "the invite code is mistyped: its checksum does not match; copy it again"
    );
}

#[test]
fn short_codes_are_truncated() {
    for code in ["weft1-", "weft1-  ", "weft1-04"] {
        assert_eq!(
            Invite::decode(code).unwrap_err(),
            InviteError::Truncated { field: "checksum" },
            "{code}"
        );
    }
    // A checksum that matches over content that stops early.
    assert_eq!(
        Invite::decode(&raw_code(&[1, 0x11, 0x11])).unwrap_err(),
        InviteError::Truncated {
            field: "workspace id"
        }
    );
    let mut content = header(1, 2);
    content.extend_from_slice(&[5, b'a', b'b']);
    assert_eq!(
        Invite::decode(&raw_code(&content)).unwrap_err(),
        InviteError::Truncated { field: "name" }
    );
    let mut content = header(1, 2);
    content.extend_from_slice(&[0, 0, 1, 0, 9, b'/']);
    let err = Invite::decode(&raw_code(&content)).unwrap_err();
    assert_eq!(
        err,
        InviteError::Truncated {
            field: "peer address"
        }
    );
    assert!(err.to_string().contains("copy all of it"), "{err}");
}

#[test]
fn a_newer_version_says_so() {
    let mut content = header(1, 2);
    content[0] = 2;
    content.extend_from_slice(b"whatever version 2 carries");
    let err = Invite::decode(&raw_code(&content)).unwrap_err();
    assert_eq!(err, InviteError::UnknownVersion { version: 2 });
    let msg = err.to_string();
    assert!(
        msg.contains("version 2") && msg.contains("newer Weft"),
        "{msg}"
    );
}

#[test]
fn trailing_bytes_are_refused() {
    let mut content = header(1, 2);
    content.extend_from_slice(&[0, 0, 0, 0xAA, 0xBB]);
    assert_eq!(
        Invite::decode(&raw_code(&content)).unwrap_err(),
        InviteError::TrailingBytes { count: 2 }
    );
}

#[test]
fn text_fields_must_be_utf8() {
    let mut content = header(1, 2);
    content.extend_from_slice(&[2, 0xC3, 0x28, 0, 0]);
    assert_eq!(
        Invite::decode(&raw_code(&content)).unwrap_err(),
        InviteError::InvalidUtf8 { field: "name" }
    );
    let mut content = header(1, 2);
    content.extend_from_slice(&[0, 1, 0, 1, 0xFF, 0]);
    assert_eq!(
        Invite::decode(&raw_code(&content)).unwrap_err(),
        InviteError::InvalidUtf8 {
            field: "relay address"
        }
    );
}

#[test]
fn counts_and_lengths_past_the_bounds_are_refused() {
    let mut content = header(1, 2);
    content.extend_from_slice(&[0, 17]);
    content.extend(std::iter::repeat_n([0u8, 1, b'x'], 17).flatten());
    content.push(0);
    assert_eq!(
        Invite::decode(&raw_code(&content)).unwrap_err(),
        InviteError::TooLarge {
            field: "relay count",
            len: 17,
            max: 16
        }
    );
    let mut content = header(1, 2);
    content.extend_from_slice(&[0, 0, 1, 1, 0]);
    content.extend_from_slice(&[b'a'; 256]);
    assert_eq!(
        Invite::decode(&raw_code(&content)).unwrap_err(),
        InviteError::TooLarge {
            field: "peer address length",
            len: 256,
            max: 255
        }
    );
}

#[test]
fn debug_never_shows_the_key() {
    let inv = pinned();
    let s = format!("{inv:?}");
    assert!(s.contains("[redacted]"), "{s}");
    assert!(
        s.contains("Home") && s.contains(&inv.workspace.to_hex()),
        "{s}"
    );
    assert!(!s.contains(&hex::encode(inv.key.expose_secret())), "{s}");
    assert!(!s.contains("34, 34, 34"), "{s}");
}
