//! The store against real files, folders, symlinks and FIFOs in a temporary
//! folder: nothing outside the root is ever read or written.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use ferry_core::EMPTY_MD5;
use ferry_core::{Limits, Name};
use ferry_storage::{DigestCache, Folder, Replace, StoreError, md5_prefix};

fn name(s: &str) -> Name {
    Name::parse(s.as_bytes(), &Limits::default()).unwrap()
}

/// root/ holds the served folder `srv` and a `secret` outside it.
fn setup() -> (tempfile::TempDir, Folder) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    fs::create_dir_all(root.join("srv/docs/deep")).unwrap();
    fs::write(root.join("secret"), b"top secret").unwrap();
    fs::create_dir(root.join("outside")).unwrap();
    fs::write(root.join("outside/x.txt"), b"outside").unwrap();
    fs::write(root.join("srv/a.txt"), b"abc").unwrap();
    fs::write(root.join("srv/a-z.txt"), b"1").unwrap();
    fs::write(root.join("srv/docs/y.txt"), b"yy").unwrap();
    fs::write(root.join("srv/docs/deep/z.md"), b"zzz").unwrap();
    fs::write(root.join("srv/bad\nname.txt"), b"hidden").unwrap();
    fs::write(root.join("srv/.ferry-upload-1-1"), b"stale").unwrap();
    symlink(root.join("secret"), root.join("srv/evil")).unwrap();
    symlink("../secret", root.join("srv/rel")).unwrap();
    symlink("a.txt", root.join("srv/inner-link")).unwrap();
    symlink(root.join("outside"), root.join("srv/linkdir")).unwrap();
    symlink("/etc", root.join("srv/etc")).unwrap();
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        root.join("srv/fifo"),
        rustix::fs::Mode::from_raw_mode(0o644),
    )
    .unwrap();
    let folder = Folder::open(&root.join("srv"), Limits::default()).unwrap();
    (tmp, folder)
}

fn read(folder: &Folder, n: &str) -> Result<Vec<u8>, StoreError> {
    let open = folder.open_file(&name(n))?;
    let mut data = Vec::new();
    std::io::Read::read_to_end(&mut &open.file, &mut data).unwrap();
    assert_eq!(data.len() as u64, open.size);
    Ok(data)
}

#[test]
fn regular_files_are_read() {
    let (_tmp, folder) = setup();
    assert_eq!(read(&folder, "a.txt").unwrap(), b"abc");
    assert_eq!(read(&folder, "docs/deep/z.md").unwrap(), b"zzz");
}

#[test]
fn symlinks_are_never_followed() {
    let (_tmp, folder) = setup();
    for n in [
        "evil",
        "rel",
        "inner-link",
        "linkdir/x.txt",
        "etc/passwd",
        "etc/hostname",
    ] {
        assert!(
            matches!(read(&folder, n), Err(StoreError::Escape)),
            "{n}: {:?}",
            read(&folder, n)
        );
    }
}

#[test]
fn special_files_and_folders_are_not_regular() {
    let (_tmp, folder) = setup();
    // The FIFO has no writer: opening it must not block.
    assert!(matches!(read(&folder, "fifo"), Err(StoreError::NotRegular)));
    assert!(matches!(read(&folder, "docs"), Err(StoreError::NotRegular)));
    assert!(matches!(
        read(&folder, "missing"),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        read(&folder, "a.txt/x"),
        Err(StoreError::NotFound)
    ));
}

#[test]
fn listing_is_sorted_and_holds_only_requestable_regular_files() {
    let (_tmp, folder) = setup();
    let got: Vec<(String, u64)> = folder
        .list()
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.size))
        .collect();
    let want = [
        ("a-z.txt", 1),
        ("a.txt", 3),
        ("docs/deep/z.md", 3),
        ("docs/y.txt", 2),
    ];
    assert_eq!(got, want.map(|(n, s)| (n.to_owned(), s)));
}

#[test]
fn masks_match_like_listing_names() {
    let (_tmp, folder) = setup();
    let names = |mask: &str| -> Vec<String> {
        folder
            .matching(mask)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect()
    };
    assert_eq!(names("*.txt"), ["a-z.txt", "a.txt"]);
    assert_eq!(names("**/*.txt"), ["a-z.txt", "a.txt", "docs/y.txt"]);
    assert_eq!(names("docs/**"), ["docs/deep/z.md", "docs/y.txt"]);
    assert_eq!(names("{a.txt,docs/y.txt}"), ["a.txt", "docs/y.txt"]);
    assert!(names("*.jpg").is_empty());
    assert!(matches!(
        folder.matching("[unclosed"),
        Err(StoreError::BadMask(_))
    ));
}

#[test]
fn upload_is_invisible_until_committed() {
    let (tmp, folder) = setup();
    let mut up = folder
        .begin_upload(&name("new/dir/f.bin"), Replace::Allowed)
        .unwrap();
    up.write(b"hello ").unwrap();
    assert!(!tmp.path().join("srv/new/dir/f.bin").exists());
    assert!(
        folder
            .list()
            .unwrap()
            .iter()
            .all(|e| !e.name.starts_with("new")),
        "temporary is hidden"
    );
    up.write(b"world").unwrap();
    up.commit().unwrap();
    assert_eq!(
        fs::read(tmp.path().join("srv/new/dir/f.bin")).unwrap(),
        b"hello world"
    );
    assert_eq!(
        fs::read_dir(tmp.path().join("srv/new/dir"))
            .unwrap()
            .count(),
        1,
        "no temporary left"
    );
}

#[test]
fn an_abandoned_upload_leaves_nothing() {
    let (tmp, folder) = setup();
    let before = fs::read(tmp.path().join("srv/a.txt")).unwrap();
    let mut up = folder
        .begin_upload(&name("a.txt"), Replace::Allowed)
        .unwrap();
    up.write(b"partial").unwrap();
    drop(up);
    assert_eq!(
        fs::read(tmp.path().join("srv/a.txt")).unwrap(),
        before,
        "the old file is untouched"
    );
    let temps = fs::read_dir(tmp.path().join("srv")).unwrap().filter(|e| {
        e.as_ref()
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".ferry-upload-")
            && !e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with("-1-1")
    });
    assert_eq!(temps.count(), 0);
}

#[test]
fn upload_replaces_an_existing_file() {
    let (tmp, folder) = setup();
    let mut up = folder
        .begin_upload(&name("a.txt"), Replace::Allowed)
        .unwrap();
    up.write(b"new content").unwrap();
    up.commit().unwrap();
    assert_eq!(
        fs::read(tmp.path().join("srv/a.txt")).unwrap(),
        b"new content"
    );
}

#[test]
fn a_new_only_upload_never_replaces_a_file() {
    let (tmp, folder) = setup();
    let before = fs::read(tmp.path().join("srv/a.txt")).unwrap();
    assert!(matches!(
        folder.begin_upload(&name("a.txt"), Replace::NewOnly),
        Err(StoreError::Exists)
    ));
    // Two new uploads of one name: the first to commit wins, the other
    // fails and leaves the winner's bytes.
    let mut first = folder
        .begin_upload(&name("new/b.txt"), Replace::NewOnly)
        .unwrap();
    let mut second = folder
        .begin_upload(&name("new/b.txt"), Replace::NewOnly)
        .unwrap();
    first.write(b"first").unwrap();
    second.write(b"second").unwrap();
    first.commit().unwrap();
    let lost = second.commit().unwrap_err();
    assert_eq!(lost.kind(), std::io::ErrorKind::AlreadyExists, "{lost}");
    assert_eq!(
        fs::read(tmp.path().join("srv/new/b.txt")).unwrap(),
        b"first"
    );
    assert_eq!(fs::read(tmp.path().join("srv/a.txt")).unwrap(), before);
    let names: Vec<_> = fs::read_dir(tmp.path().join("srv/new"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["b.txt"], "the loser's temporary file is gone");
}

#[test]
fn an_upload_never_gives_an_existing_name_a_second_spelling() {
    let (tmp, folder) = setup();
    let decomposed = "cafe\u{301}";
    fs::create_dir(tmp.path().join("srv").join(decomposed)).unwrap();
    fs::write(tmp.path().join("srv/\u{212a}.txt"), b"kelvin").unwrap();
    for (upload, existing) in [
        ("caf\u{e9}/menu.txt", decomposed),
        ("K.txt", "\u{212a}.txt"),
        ("cafe\u{301}/\u{212a}.txt", ""),
    ] {
        match folder.begin_upload(&name(upload), Replace::Allowed) {
            Err(StoreError::OtherSpelling(other)) => assert_eq!(other, existing, "{upload}"),
            Ok(_) if existing.is_empty() => {}
            other => panic!("{upload}: {other:?}"),
        }
    }
    // The same spelling is the same file.
    let mut up = folder
        .begin_upload(&name("cafe\u{301}/menu.txt"), Replace::Allowed)
        .unwrap();
    up.write(b"menu").unwrap();
    up.commit().unwrap();
}

#[test]
fn uploads_never_write_through_symlinks_or_over_special_files() {
    let (tmp, folder) = setup();
    assert!(matches!(
        folder.begin_upload(&name("docs"), Replace::Allowed),
        Err(StoreError::NotRegular)
    ));
    assert!(matches!(
        folder.begin_upload(&name("fifo"), Replace::Allowed),
        Err(StoreError::NotRegular)
    ));
    assert!(matches!(
        folder.begin_upload(&name("evil"), Replace::Allowed),
        Err(StoreError::NotRegular)
    ));
    assert!(matches!(
        folder.begin_upload(&name("linkdir/x.txt"), Replace::Allowed),
        Err(StoreError::Escape)
    ));
    assert!(matches!(
        folder.begin_upload(&name("etc/passwd"), Replace::Allowed),
        Err(StoreError::Escape)
    ));
    assert!(matches!(
        folder.begin_upload(&name("a.txt/x"), Replace::Allowed),
        Err(StoreError::NotRegular)
    ));
    assert_eq!(fs::read(tmp.path().join("secret")).unwrap(), b"top secret");
    assert_eq!(
        fs::read(tmp.path().join("outside/x.txt")).unwrap(),
        b"outside"
    );
    assert_eq!(fs::read_dir(tmp.path().join("outside")).unwrap().count(), 1);
}

#[test]
fn stale_temporaries_are_removed() {
    let (tmp, folder) = setup();
    fs::write(tmp.path().join("srv/docs/.ferry-upload-9-9"), b"stale").unwrap();
    assert_eq!(folder.remove_temporaries().unwrap(), 2);
    assert!(!tmp.path().join("srv/.ferry-upload-1-1").exists());
    assert!(tmp.path().join("srv/a.txt").exists());
}

#[test]
fn digests_are_remembered_per_file_version() {
    let (tmp, folder) = setup();
    let cache = DigestCache::new(100);
    let path = tmp.path().join("srv/big.bin");
    fs::write(&path, vec![7u8; 300_000]).unwrap();
    let open = folder.open_file(&name("big.bin")).unwrap();
    let first = cache.prefix_md5(&open, 299_999).unwrap();
    assert_eq!(first, md5_prefix(&open.file, 299_999).unwrap());
    assert_eq!(cache.len(), 1);
    assert_eq!(cache.prefix_md5(&open, 299_999).unwrap(), first);
    assert_eq!(cache.len(), 1, "answered from memory");
    assert_eq!(cache.prefix_md5(&open, 0).unwrap(), EMPTY_MD5);
    // Rewritten in place with the same size: a new version, a new digest.
    std::thread::sleep(std::time::Duration::from_millis(10));
    fs::write(&path, vec![8u8; 300_000]).unwrap();
    let reopened = folder.open_file(&name("big.bin")).unwrap();
    assert_ne!(reopened.id, open.id);
    let second = cache.prefix_md5(&reopened, 299_999).unwrap();
    assert_ne!(second, first);
    assert!(
        md5_prefix(&open.file, 400_000).is_err(),
        "a prefix past the end is an error"
    );
}

#[test]
fn a_missing_root_is_an_error() {
    assert!(Folder::open(Path::new("/nonexistent/ferry"), Limits::default()).is_err());
}

#[test]
fn subfolders_are_created_beneath_and_never_through_symlinks() {
    let (tmp, folder) = setup();
    let alice = folder.subfolder("alice").unwrap();
    assert!(tmp.path().join("srv/alice").is_dir());
    assert!(alice.list().unwrap().is_empty());
    assert!(matches!(
        folder.subfolder("linkdir"),
        Err(StoreError::Escape)
    ));
    assert!(matches!(
        folder.subfolder("../outside"),
        Err(StoreError::Escape)
    ));
    assert!(matches!(folder.subfolder("a.txt"), Err(StoreError::Escape)));
}

#[test]
fn partial_downloads_survive_and_commit_by_rename() {
    let (tmp, folder) = setup();
    let mut part = folder.partial(&name("dl/file.bin")).unwrap();
    assert!(part.is_empty());
    part.write(b"hello ").unwrap();
    drop(part); // interrupted
    assert_eq!(
        fs::read(tmp.path().join("srv/dl/file.bin.part")).unwrap(),
        b"hello "
    );
    let mut part = folder.partial(&name("dl/file.bin")).unwrap();
    assert_eq!(part.len(), 6);
    assert_eq!(
        part.md5().unwrap(),
        md5_prefix(
            &fs::File::open(tmp.path().join("srv/dl/file.bin.part")).unwrap(),
            6
        )
        .unwrap()
    );
    part.write(b"world").unwrap();
    part.commit().unwrap();
    assert_eq!(
        fs::read(tmp.path().join("srv/dl/file.bin")).unwrap(),
        b"hello world"
    );
    assert!(!tmp.path().join("srv/dl/file.bin.part").exists());
    folder
        .partial(&name("empty-one"))
        .unwrap()
        .abandon()
        .unwrap();
    assert!(
        !tmp.path().join("srv/empty-one.part").exists(),
        "an empty partial is removed"
    );
    let mut kept = folder.partial(&name("kept")).unwrap();
    kept.write(b"x").unwrap();
    kept.abandon().unwrap();
    assert!(
        tmp.path().join("srv/kept.part").exists(),
        "a partial with bytes stays"
    );
    let mut again = folder.partial(&name("a.txt")).unwrap();
    again.write(b"xyz").unwrap();
    again.restart().unwrap();
    assert!(again.is_empty());
    assert!(matches!(
        folder.partial(&name("docs")),
        Err(StoreError::NotRegular)
    ));
    assert!(matches!(
        folder.partial(&name("evil")),
        Err(StoreError::NotRegular)
    ));
    assert!(matches!(
        folder.partial(&name("linkdir/x")),
        Err(StoreError::Escape)
    ));
}

#[test]
fn a_partial_download_is_owned_by_one_holder() {
    let (tmp, folder) = setup();
    let mut first = folder.partial(&name("big.bin")).unwrap();
    first.write(b"first ").unwrap();
    match folder.partial(&name("big.bin")) {
        Err(StoreError::Busy { file, holder }) => {
            assert_eq!(file, "big.bin.part");
            let me = format!("process {}", std::process::id());
            assert!(holder.starts_with(&me), "{holder:?} should name {me}");
        }
        other => panic!("a second holder was let in: {other:?}"),
    }
    first.write(b"only").unwrap();
    first.commit().unwrap();
    assert_eq!(
        fs::read(tmp.path().join("srv/big.bin")).unwrap(),
        b"first only"
    );
    // Once the first holder is done, the name is free again, and a new
    // partial file starts empty rather than reopening the renamed one.
    let again = folder.partial(&name("big.bin")).unwrap();
    assert!(again.is_empty());
    again.abandon().unwrap();
    assert_eq!(
        fs::read(tmp.path().join("srv/big.bin")).unwrap(),
        b"first only"
    );
}

#[test]
fn a_name_too_long_for_its_suffix_gets_a_hashed_partial_name() {
    let (tmp, folder) = setup();
    let fits = "f".repeat(250);
    assert_eq!(ferry_storage::part_name(&fits), format!("{fits}.part"));
    let long = "l".repeat(251);
    let hashed = ferry_storage::part_name(&long);
    assert!(
        hashed.starts_with(ferry_storage::HASHED_PART_PREFIX),
        "{hashed}"
    );
    assert_eq!(hashed.len(), ferry_storage::HASHED_PART_PREFIX.len() + 32);
    assert_ne!(hashed, ferry_storage::part_name(&"l".repeat(252)));
    let mut part = folder.partial(&name(&long)).unwrap();
    assert_eq!(part.part_name(), hashed);
    part.write(b"held").unwrap();
    drop(part);
    assert_eq!(
        fs::read(tmp.path().join("srv").join(&hashed)).unwrap(),
        b"held"
    );
    let part = folder.partial(&name(&long)).unwrap();
    assert_eq!(part.len(), 4, "the hashed partial file is found again");
    part.commit().unwrap();
    assert_eq!(
        fs::read(tmp.path().join("srv").join(&long)).unwrap(),
        b"held"
    );
}

#[test]
fn every_name_that_can_be_stored_can_be_opened() {
    let (_tmp, folder) = setup();
    // The longest name the protocol allows.

    // Exactly the protocol's 4,096 bytes: one more than a path the kernel
    // takes in one call.
    let mut long: String = (0..39).map(|i| format!("{i:0>100}/")).collect();
    long.push_str(&"z".repeat(4096 - long.len()));
    assert_eq!(long.len(), 4096);
    let long = name(&long);
    let mut up = folder.begin_upload(&long, Replace::Allowed).unwrap();
    up.write(b"deep").unwrap();
    up.commit().unwrap();
    let open = folder.open_file(&long).unwrap();
    assert_eq!(open.size, 4);
    assert!(
        folder
            .list()
            .unwrap()
            .iter()
            .any(|e| e.name == long.as_str())
    );
    // A symlink on the way is refused the same way.
    assert!(matches!(
        folder.open_file(&name(&format!(
            "linkdir/{}",
            vec!["x".repeat(100); 21].join("/")
        ))),
        Err(StoreError::Escape)
    ));
}

#[test]
fn an_upload_makes_its_folders_only_when_it_commits() {
    let (tmp, folder) = setup();
    let srv = tmp.path().join("srv");
    // A crash in the middle (no cleanup runs): only the temporary is left,
    // in the deepest folder that already existed, and no empty folder.
    let mut up = folder
        .begin_upload(&name("docs/new/deeper/file.bin"), Replace::Allowed)
        .unwrap();
    up.write(b"half").unwrap();
    std::mem::forget(up);
    assert!(
        !srv.join("docs/new").exists(),
        "no folder for an unfinished upload"
    );
    // Ours and the stale one `setup` leaves.
    assert_eq!(folder.remove_temporaries().unwrap(), 2);
    // Dropped: nothing at all.
    let up = folder
        .begin_upload(&name("fresh/file.bin"), Replace::Allowed)
        .unwrap();
    drop(up);
    assert!(!srv.join("fresh").exists());
    // Committed: the folders and the file.
    let mut up = folder
        .begin_upload(&name("docs/new/deeper/file.bin"), Replace::Allowed)
        .unwrap();
    up.write(b"whole").unwrap();
    up.commit().unwrap();
    assert_eq!(
        fs::read(srv.join("docs/new/deeper/file.bin")).unwrap(),
        b"whole"
    );
    // Through a symlink, refused before anything is written.
    assert!(matches!(
        folder.begin_upload(&name("linkdir/new/x"), Replace::Allowed),
        Err(StoreError::Escape)
    ));
}

#[test]
fn any_prefix_digest_costs_at_most_one_checkpoint_interval_once_hashed() {
    use ferry_storage::CHECKPOINT_INTERVAL as STEP;
    use md5::{Digest, Md5};
    let (tmp, folder) = setup();
    let len = 3 * STEP + STEP / 2;
    let bytes: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
    fs::write(tmp.path().join("srv/big.bin"), &bytes).unwrap();
    let open = folder.open_file(&name("big.bin")).unwrap();
    let cache = DigestCache::new(100);
    let md5_of = |n: u64| -> [u8; 16] { Md5::digest(&bytes[..n as usize]).into() };
    // The first request near the end hashes up to there, once.
    let first = 3 * STEP + 1000;
    assert_eq!(cache.prefix_md5(&open, first).unwrap(), md5_of(first));
    assert_eq!(cache.bytes_hashed(), first);
    // Every other prefix starts from the checkpoint before it.
    for position in [3 * STEP + 5000, 2 * STEP + 7, STEP, 3 * STEP + STEP / 3, 17] {
        let before = cache.bytes_hashed();
        assert_eq!(
            cache.prefix_md5(&open, position).unwrap(),
            md5_of(position),
            "{position}"
        );
        let cost = cache.bytes_hashed() - before;
        assert!(cost <= STEP, "{position} cost {cost} bytes of hashing");
        assert_eq!(
            cost,
            position % STEP,
            "from the checkpoint just before {position}"
        );
    }
    // Asked again: from memory.
    let before = cache.bytes_hashed();
    cache.prefix_md5(&open, 2 * STEP + 7).unwrap();
    assert_eq!(cache.bytes_hashed(), before);
    // A file rewritten in place is a new version: hashed afresh, right.
    let mut changed = bytes.clone();
    changed[10] ^= 1;
    fs::write(tmp.path().join("srv/big.bin"), &changed).unwrap();
    let reopened = folder.open_file(&name("big.bin")).unwrap();
    let expected: [u8; 16] = Md5::digest(&changed[..(2 * STEP + 7) as usize]).into();
    assert_eq!(cache.prefix_md5(&reopened, 2 * STEP + 7).unwrap(), expected);
}

#[test]
fn first_hashings_of_one_file_under_way_together_share_their_checkpoints() {
    use ferry_storage::CHECKPOINT_INTERVAL as STEP;
    use md5::{Digest, Md5};
    let (tmp, folder) = setup();
    let len = 4 * STEP;
    let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 253) as u8).collect();
    fs::write(tmp.path().join("srv/big.bin"), &bytes).unwrap();
    let open = folder.open_file(&name("big.bin")).unwrap();
    let cache = DigestCache::new(100);
    // Two clients ask for almost all of it at once; their steps interleave.
    let (a_len, b_len) = (len - 10, len - 20);
    let mut a = cache.start(open.id, a_len);
    let mut b = cache.start(open.id, b_len);
    let (mut a_done, mut b_done) = (None, None);
    while a_done.is_none() || b_done.is_none() {
        if a_done.is_none() {
            a_done = a.step(&open.file, Some(&cache)).unwrap();
        }
        if b_done.is_none() {
            b_done = b.step(&open.file, Some(&cache)).unwrap();
        }
    }
    assert_eq!(a_done, Some(Md5::digest(&bytes[..a_len as usize]).into()));
    assert_eq!(b_done, Some(Md5::digest(&bytes[..b_len as usize]).into()));
    // Each interval was hashed once, plus the two tails.
    assert!(
        cache.bytes_hashed() <= len + 2 * STEP,
        "{} bytes hashed for a {len}-byte file",
        cache.bytes_hashed()
    );
    // A prefix ending on a checkpoint needs no step at all.
    let on = cache.start(open.id, 2 * STEP);
    assert_eq!(
        on.digest(),
        Some(Md5::digest(&bytes[..2 * STEP as usize]).into())
    );
}
