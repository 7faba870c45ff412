//! The cache's disk: fills become entries only when whole, prefixes survive
//! for resuming, restarts find both again, eviction is least recently used
//! and never damages a copy being read.

use std::fs;
use std::io::Read;

use ferry_storage::{CacheFolder, FillFrom};
use md5::{Digest, Md5};

fn md5(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}

fn read_all(mut file: &fs::File) -> Vec<u8> {
    let mut out = Vec::new();
    file.read_to_end(&mut out).unwrap();
    out
}

fn fill(cache: &CacheFolder, name: &str, data: &[u8]) {
    let mut f = cache
        .begin_fill(name, FillFrom::Empty, None, cache.generation())
        .unwrap();
    f.write(data).unwrap();
    assert_eq!(f.commit(cache, data.len() as u64).unwrap(), md5(data));
}

#[test]
fn a_whole_fill_becomes_an_entry_that_survives_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = CacheFolder::open(tmp.path(), 1 << 20).unwrap();
    assert!(cache.hit("a.txt").is_none());
    let mut f = cache
        .begin_fill("a.txt", FillFrom::Empty, None, cache.generation())
        .unwrap();
    f.write(b"hello ").unwrap();
    let mut reader = f.reader().unwrap();
    f.write(b"world").unwrap();
    assert_eq!(read_all(&reader), b"hello world");
    assert!(cache.hit("a.txt").is_none(), "not an entry before commit");
    f.commit(&cache, 11).unwrap();
    reader = cache.hit("a.txt").unwrap().open.file;
    assert_eq!(read_all(&reader), b"hello world");
    drop(cache);
    let cache = CacheFolder::open(tmp.path(), 1 << 20).unwrap();
    let hit = cache.hit("a.txt").unwrap();
    assert_eq!(hit.md5, md5(b"hello world"));
    assert_eq!(hit.open.size, 11);
    assert_eq!(cache.usage().entries, 1);
    assert_eq!(cache.usage().bytes, 11);
}

#[test]
fn a_fill_of_the_wrong_size_or_dropped_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = CacheFolder::open(tmp.path(), 1 << 20).unwrap();
    let mut f = cache
        .begin_fill("a", FillFrom::Empty, None, cache.generation())
        .unwrap();
    f.write(b"short").unwrap();
    assert!(f.commit(&cache, 6).is_err());
    let mut f = cache
        .begin_fill("a", FillFrom::Empty, None, cache.generation())
        .unwrap();
    f.write(b"dropped").unwrap();
    drop(f);
    assert!(cache.hit("a").is_none());
    assert_eq!(fs::read_dir(tmp.path().join("fills")).unwrap().count(), 0);
    assert_eq!(fs::read_dir(tmp.path().join("entries")).unwrap().count(), 0);
}

#[test]
fn a_prefix_is_kept_never_served_and_resumed_after_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = CacheFolder::open(tmp.path(), 1 << 20).unwrap();
    let mut f = cache
        .begin_fill("big", FillFrom::Empty, None, cache.generation())
        .unwrap();
    f.write(b"first half ").unwrap();
    f.keep_prefix(&cache).unwrap();
    assert!(cache.hit("big").is_none(), "a prefix is never a hit");
    assert_eq!(cache.prefix_len("big"), Some(11));
    drop(cache);
    let cache = CacheFolder::open(tmp.path(), 1 << 20).unwrap();
    assert_eq!(cache.prefix_len("big"), Some(11));
    let mut f = cache
        .begin_fill("big", FillFrom::Prefix, None, cache.generation())
        .unwrap();
    assert_eq!(f.len(), 11);
    assert_eq!(f.md5(), md5(b"first half "));
    assert_eq!(
        cache.prefix_len("big"),
        None,
        "the prefix moved into the fill"
    );
    f.write(b"second half").unwrap();
    f.commit(&cache, 22).unwrap();
    let hit = cache.hit("big").unwrap();
    assert_eq!(read_all(&hit.open.file), b"first half second half");
    assert_eq!(hit.md5, md5(b"first half second half"));
    assert_eq!(cache.usage().bytes, 22);
}

#[test]
fn an_entry_is_extended_from_its_recorded_state() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = CacheFolder::open(tmp.path(), 1 << 20).unwrap();
    fill(&cache, "log", b"line 1\n");
    // In memory after a fill; hashed again once after a restart.
    let mut cache = Some(cache);
    for in_memory in [true, false] {
        if !in_memory {
            drop(cache.take());
        }
        let cache = &*cache.get_or_insert_with(|| CacheFolder::open(tmp.path(), 1 << 20).unwrap());
        let hit = cache.hit("log").unwrap();
        assert_eq!(hit.tail.is_some(), in_memory);
        let mut whole = read_all(&hit.open.file);
        let mut f = cache
            .begin_fill(
                "log",
                FillFrom::Entry(Box::new(hit)),
                None,
                cache.generation(),
            )
            .unwrap();
        assert_eq!(f.len(), whole.len() as u64);
        f.write(b"more\n").unwrap();
        whole.extend(b"more\n");
        assert_eq!(f.commit(cache, whole.len() as u64).unwrap(), md5(&whole));
        let hit = cache.hit("log").unwrap();
        assert_eq!(read_all(&hit.open.file), whole);
        assert!(hit.tail.is_some(), "kept for the next extension");
    }
}

#[test]
fn the_least_recently_used_go_first_and_readers_keep_their_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = CacheFolder::open(tmp.path(), 100).unwrap();
    fill(&cache, "a", &[b'a'; 40]);
    fill(&cache, "b", &[b'b'; 40]);
    let reading = cache.hit("a").unwrap(); // a is now the most recently used
    fill(&cache, "c", &[b'c'; 40]);
    assert!(cache.hit("b").is_none(), "b was least recently used");
    assert!(cache.hit("a").is_some());
    fill(&cache, "d", &[b'd'; 40]);
    assert!(cache.hit("c").is_none() || cache.hit("a").is_none());
    assert!(cache.usage().bytes <= 100);
    assert_eq!(cache.usage().evictions, 2);
    // Whatever was evicted, a copy being read is read whole.
    assert_eq!(read_all(&reading.open.file), vec![b'a'; 40]);
}

#[test]
fn damaged_folders_are_removed_at_startup() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = CacheFolder::open(tmp.path(), 1 << 20).unwrap();
    fill(&cache, "good", b"good");
    fill(&cache, "cut", b"will be cut");
    fill(&cache, "twice", b"old");
    fill(&cache, "twice", b"new!");
    drop(cache);
    // A data file cut short, a fill in progress, a stray folder.
    for dir in fs::read_dir(tmp.path().join("entries")).unwrap() {
        let dir = dir.unwrap().path();
        if fs::read_to_string(dir.join("meta"))
            .unwrap()
            .contains("name cut")
        {
            fs::write(dir.join("data"), b"will be").unwrap();
        }
    }
    fs::create_dir(tmp.path().join("fills/77")).unwrap();
    fs::write(tmp.path().join("fills/77/data"), b"half").unwrap();
    fs::create_dir(tmp.path().join("entries/junk")).unwrap();
    let cache = CacheFolder::open(tmp.path(), 1 << 20).unwrap();
    assert_eq!(read_all(&cache.hit("good").unwrap().open.file), b"good");
    assert!(cache.hit("cut").is_none(), "a damaged copy is never served");
    assert_eq!(read_all(&cache.hit("twice").unwrap().open.file), b"new!");
    assert_eq!(cache.usage().entries, 2);
    assert_eq!(fs::read_dir(tmp.path().join("fills")).unwrap().count(), 0);
    assert_eq!(fs::read_dir(tmp.path().join("entries")).unwrap().count(), 2);
}

#[test]
fn one_cache_folder_serves_one_process() {
    let tmp = tempfile::tempdir().unwrap();
    let first = CacheFolder::open(tmp.path(), 1 << 20).unwrap();
    match CacheFolder::open(tmp.path(), 1 << 20) {
        Err(ferry_storage::StoreError::Busy { holder, .. }) => {
            assert!(holder.contains(&std::process::id().to_string()), "{holder}");
        }
        other => panic!("a second cache on the same folder: {other:?}"),
    }
    drop(first);
    CacheFolder::open(tmp.path(), 1 << 20).unwrap();
}

#[test]
fn fills_in_flight_hold_their_size_against_the_cache_from_their_start() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = CacheFolder::open(tmp.path(), 100).unwrap();
    fill(&cache, "old", &[1; 30]);
    let first = cache
        .begin_fill("a", FillFrom::Empty, Some(60), cache.generation())
        .unwrap();
    assert_eq!(cache.usage().reserved, 60);
    assert!(
        cache.hit("old").is_some(),
        "30 + 60 fit in 100: nothing evicted"
    );
    // 60 more cannot fit beside the first fill, whatever is evicted.
    let refused = cache
        .begin_fill("b", FillFrom::Empty, Some(60), cache.generation())
        .unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::StorageFull, "{refused}");
    // 40 fit once the old copy goes.
    let second = cache
        .begin_fill("c", FillFrom::Empty, Some(40), cache.generation())
        .unwrap();
    assert!(cache.hit("old").is_none(), "evicted to make room");
    assert_eq!(cache.usage().reserved, 100);
    drop(first);
    assert_eq!(
        cache.usage().reserved,
        40,
        "an abandoned fill gives its room back"
    );
    let mut second = second;
    second.write(&[2; 40]).unwrap();
    second.commit(&cache, 40).unwrap();
    let usage = cache.usage();
    assert_eq!(
        (usage.reserved, usage.bytes),
        (0, 40),
        "the reservation became the copy"
    );
}

#[test]
fn a_fill_begun_before_a_replacement_never_becomes_an_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = CacheFolder::open(tmp.path(), 1 << 20).unwrap();
    let mut old = cache
        .begin_fill("a.txt", FillFrom::Empty, Some(3), cache.generation())
        .unwrap();
    old.write(b"old").unwrap();
    // An upload of the same name is stored while the fill is in flight.
    cache.replaced("a.txt");
    let refused = old.commit(&cache, 3).unwrap_err();
    assert!(refused.to_string().contains("upload replaced"), "{refused}");
    assert!(
        cache.hit("a.txt").is_none(),
        "the old bytes are never an entry"
    );
    assert_eq!(fs::read_dir(tmp.path().join("fills")).unwrap().count(), 0);
    // Asked for before the replacement, begun after it: never kept either.
    let since = cache.generation();
    cache.replaced("a.txt");
    let mut late = cache
        .begin_fill("a.txt", FillFrom::Empty, Some(3), since)
        .unwrap();
    late.write(b"old").unwrap();
    assert!(late.commit(&cache, 3).is_err());
    assert!(cache.hit("a.txt").is_none());
    // A fill asked for after the replacement is kept.
    fill(&cache, "a.txt", b"new");
    assert_eq!(read_all(&cache.hit("a.txt").unwrap().open.file), b"new");
}
