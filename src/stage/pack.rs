//! Writing objects as one git packfile (version 2) and its index (version
//! 2), the way `git index-pack` leaves them: `pack-<checksum>.pack` first,
//! then `pack-<checksum>.idx`, each written to a temporary file and renamed
//! into place, so that a reader (which finds packs by their index) never
//! sees half a pack.
//!
//! Objects are stored uncompressed (zlib streams of stored blocks, as
//! with `core.compression=0`; adler2, sha1 and crc32fast checksum them),
//! a rewritten tree or file as a delta against its previous version in
//! the same pack: [`super::commit`] writes thousands of small objects at
//! once, and compressing them costs more than the whole rest of the
//! commit. A later `git gc` repacks them small; meanwhile the pack takes
//! less room than the same objects loose (each a file of its own, a whole
//! file system block).
//!
//! Nothing here knows the repository: [`write`] takes the object ids, kinds
//! and contents, and the directory.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use git2::{ObjectType, Oid};
use rayon::prelude::*;

/// One object to pack.
pub struct Object<'a> {
    pub id: Oid,
    pub kind: ObjectType,
    pub data: &'a [u8],
    /// An object of the same pack this one is stored as a delta against
    /// (a tree's previous version), with that object's contents.
    pub base: Option<(Oid, &'a [u8])>,
}

/// Writes `objects` (no id twice) as `pack-<checksum>.pack` and
/// `pack-<checksum>.idx` in `dir` and returns the pack's path. A pack with
/// the same checksum already there is left as it is: it holds the same
/// objects.
pub fn write(dir: &Path, objects: &[Object<'_>]) -> io::Result<PathBuf> {
    let count = u32::try_from(objects.len())
        .map_err(|_| io::Error::other("too many objects for one pack"))?;
    // Each delta depends on its two objects only.
    let deltas: Vec<Option<Vec<u8>>> = objects
        .par_iter()
        .map(|o| o.base.map(|(_, base)| delta(base, o.data, o.kind)))
        .collect();
    // What is stored is mostly deltas, far smaller than the objects:
    // room for exactly that (entry header, base id, zlib framing).
    let stored: usize = objects
        .iter()
        .zip(&deltas)
        .map(|(o, d)| {
            let n = d.as_ref().map_or(o.data.len(), Vec::len);
            16 + 20 + zlib_stored_len(n)
        })
        .sum();
    let mut pack = Vec::with_capacity(12 + 20 + stored);
    pack.extend_from_slice(b"PACK");
    pack.extend_from_slice(&2u32.to_be_bytes());
    pack.extend_from_slice(&count.to_be_bytes());
    // (id, crc32 of the entry, offset), for the index.
    let mut entries: Vec<([u8; 20], u32, u64)> = Vec::with_capacity(objects.len());
    for (o, d) in objects.iter().zip(deltas) {
        let start = pack.len();
        match (o.base, d) {
            (Some((base_id, _)), Some(d)) => {
                // REF_DELTA: the base's id, then the instructions that
                // rebuild this object from it.
                entry_header(&mut pack, OBJ_REF_DELTA, d.len());
                pack.extend_from_slice(base_id.as_bytes());
                zlib_stored(&mut pack, &d)?;
            }
            _ => {
                entry_header(&mut pack, type_code(o.kind)?, o.data.len());
                zlib_stored(&mut pack, o.data)?;
            }
        }
        let id: [u8; 20] =
            o.id.as_bytes()
                .try_into()
                .map_err(|_| io::Error::other("not a SHA-1 object id"))?;
        entries.push((id, crc32(&pack[start..]), start as u64));
    }
    let checksum = sha1(&pack);
    pack.extend_from_slice(&checksum);

    entries.sort_unstable_by_key(|e| e.0);
    if entries.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err(io::Error::other("an object is in the pack twice"));
    }
    let idx = index(&entries, &checksum);

    let name = format!("pack-{}", hex(&checksum));
    let pack_path = dir.join(format!("{name}.pack"));
    let idx_path = dir.join(format!("{name}.idx"));
    if idx_path.exists() && pack_path.exists() {
        return Ok(pack_path);
    }
    fs::create_dir_all(dir)?;
    put(dir, &pack_path, &pack)?;
    put(dir, &idx_path, &idx)?;
    Ok(pack_path)
}

/// Writes `bytes` to a temporary file in `dir`, makes it read-only (as git
/// does with packs) and renames it to `path`.
fn put(dir: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!(
        "tmp_clan_migrate_{}_{}",
        std::process::id(),
        path.extension().and_then(|e| e.to_str()).unwrap_or("tmp")
    ));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        let mut perm = f.metadata()?.permissions();
        perm.set_readonly(true);
        fs::set_permissions(&tmp, perm)?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn type_code(kind: ObjectType) -> io::Result<u8> {
    Ok(match kind {
        ObjectType::Commit => 1,
        ObjectType::Tree => 2,
        ObjectType::Blob => 3,
        ObjectType::Tag => 4,
        other => return Err(io::Error::other(format!("cannot pack a {other}"))),
    })
}

/// The pack type of an entry stored as a delta against an object named by id.
const OBJ_REF_DELTA: u8 = 7;

/// Git's delta from `base` to `target`. Both are cut into pieces (a
/// tree's entries, `mode name\0` and a 20-byte id; a file's lines): each
/// piece of `target` found whole in `base` is copied from there, runs of
/// them in one instruction, preferring the place that continues the run;
/// the rest is inserted. A tree that changed a few entries, or a file that
/// lost a block of lines, becomes a few dozen bytes. Any bytes give a
/// correct delta; bytes that do not cut well just give a poor one.
pub fn delta(base: &[u8], target: &[u8], kind: ObjectType) -> Vec<u8> {
    let pieces = |data: &[u8]| match kind {
        ObjectType::Tree => tree_entries(data),
        _ => lines(data),
    };
    let mut out = Vec::with_capacity(64);
    varint(&mut out, base.len());
    varint(&mut out, target.len());
    // Pieces are short and many: a cheap hash beats a DoS-safe one here.
    let mut at: rustc_hash::FxHashMap<&[u8], usize> = Default::default();
    for (a, b) in pieces(base) {
        at.entry(&base[a..b]).or_insert(a);
    }
    // The pending copy (base offset, length) and the pending insert.
    let mut copy: Option<(usize, usize)> = None;
    let mut insert: Vec<u8> = Vec::new();
    for (a, b) in pieces(target) {
        let piece = &target[a..b];
        if let Some((o, n)) = copy
            && base[o + n..].starts_with(piece)
        {
            copy = Some((o, n + piece.len()));
            continue;
        }
        match at.get(piece) {
            Some(&from) => {
                flush_insert(&mut out, &mut insert);
                if let Some((o, n)) = copy {
                    copy_op(&mut out, o, n);
                }
                copy = Some((from, piece.len()));
            }
            None => {
                if let Some((o, n)) = copy.take() {
                    copy_op(&mut out, o, n);
                }
                insert.extend_from_slice(piece);
            }
        }
    }
    if let Some((o, n)) = copy {
        copy_op(&mut out, o, n);
    }
    flush_insert(&mut out, &mut insert);
    out
}

/// The byte ranges of a file's lines, each with its newline.
fn lines(data: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let end = data[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |i| at + i + 1);
        out.push((at, end));
        at = end;
    }
    out
}

/// The byte ranges of a tree's entries; whatever does not parse as one
/// is a last entry of its own (inserted whole).
fn tree_entries(tree: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < tree.len() {
        let end = match tree[at..].iter().position(|&b| b == 0) {
            Some(nul) if at + nul + 21 <= tree.len() => at + nul + 21,
            _ => tree.len(),
        };
        out.push((at, end));
        at = end;
    }
    out
}

/// A size in the delta header: 7 bits a byte, lowest first.
fn varint(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Copies of `len` bytes from `offset` of the base, at most 64 KiB - 1
/// each (so no size needs the "0 means 64 KiB" rule).
fn copy_op(out: &mut Vec<u8>, mut offset: usize, mut len: usize) {
    while len > 0 {
        let n = len.min(0xffff);
        let mut op = 0x80u8;
        let mut args = Vec::with_capacity(6);
        for i in 0..4 {
            let byte = ((offset >> (8 * i)) & 0xff) as u8;
            if byte != 0 {
                op |= 1 << i;
                args.push(byte);
            }
        }
        for i in 0..2 {
            let byte = ((n >> (8 * i)) & 0xff) as u8;
            if byte != 0 {
                op |= 1 << (4 + i);
                args.push(byte);
            }
        }
        out.push(op);
        out.extend_from_slice(&args);
        offset += n;
        len -= n;
    }
}

/// Literal bytes, at most 127 an instruction.
fn flush_insert(out: &mut Vec<u8>, insert: &mut Vec<u8>) {
    for chunk in insert.chunks(0x7f) {
        out.push(chunk.len() as u8);
        out.extend_from_slice(chunk);
    }
    insert.clear();
}

/// The type and size of an entry: 3 bits of type, then the size, 4 bits
/// and then 7 bits at a time, lowest first, the high bit saying more
/// follows.
fn entry_header(out: &mut Vec<u8>, code: u8, size: usize) {
    let mut size = size as u64;
    let mut byte = (code << 4) | (size & 0x0f) as u8;
    size >>= 4;
    while size != 0 {
        out.push(byte | 0x80);
        byte = (size & 0x7f) as u8;
        size >>= 7;
    }
    out.push(byte);
}

/// At most how long [`zlib_stored`] makes `n` bytes: the zlib header,
/// 5 bytes per block of up to 64 KiB, the Adler-32.
fn zlib_stored_len(n: usize) -> usize {
    n + n / 0xffff * 5 + 11
}

/// `data` as a zlib stream of stored (uncompressed) deflate blocks.
fn zlib_stored(out: &mut Vec<u8>, data: &[u8]) -> io::Result<()> {
    // The framing is a few bytes; a deflate encoder set up per object
    // (thousands of small ones) cost more than the rest of the pack.
    out.reserve(zlib_stored_len(data.len()));
    out.extend_from_slice(&[0x78, 0x01]);
    let mut chunks = data.chunks(0xffff).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[0x01, 0x00, 0x00, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&adler2::adler32_slice(data).to_be_bytes());
    Ok(())
}

/// The index (version 2) of a pack whose sorted `entries` are
/// `(id, crc32, offset)`.
fn index(entries: &[([u8; 20], u32, u64)], pack_checksum: &[u8; 20]) -> Vec<u8> {
    let mut idx = Vec::with_capacity(8 + 1024 + entries.len() * 28 + 40);
    idx.extend_from_slice(&[0xff, b't', b'O', b'c']);
    idx.extend_from_slice(&2u32.to_be_bytes());
    let mut fanout = [0u32; 256];
    for (id, _, _) in entries {
        fanout[id[0] as usize] += 1;
    }
    let mut total = 0u32;
    for n in fanout {
        total += n;
        idx.extend_from_slice(&total.to_be_bytes());
    }
    for (id, _, _) in entries {
        idx.extend_from_slice(id);
    }
    for (_, crc, _) in entries {
        idx.extend_from_slice(&crc.to_be_bytes());
    }
    let mut large: Vec<u64> = Vec::new();
    for (_, _, offset) in entries {
        let small = if *offset < 0x8000_0000 {
            *offset as u32
        } else {
            large.push(*offset);
            0x8000_0000 | (large.len() - 1) as u32
        };
        idx.extend_from_slice(&small.to_be_bytes());
    }
    for offset in large {
        idx.extend_from_slice(&offset.to_be_bytes());
    }
    idx.extend_from_slice(pack_checksum);
    let own = sha1(&idx);
    idx.extend_from_slice(&own);
    idx
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn crc32(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

/// SHA-1: git's checksum of packs and indexes.
fn sha1(data: &[u8]) -> [u8; 20] {
    use sha1::Digest;
    sha1::Sha1::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_matches_known_digests_and_git() {
        assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hex(&sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        // Every length around the padding boundaries, against git's own
        // hashing of a blob (`blob <len>\0` + contents).
        for len in 0..200 {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let mut object = format!("blob {len}\0").into_bytes();
            object.extend_from_slice(&data);
            let git = Oid::hash_object(ObjectType::Blob, &data).unwrap();
            assert_eq!(hex(&sha1(&object)), git.to_string(), "length {len}");
        }
    }

    #[test]
    fn stored_zlib_streams_inflate_to_their_data() {
        use std::io::Read;
        for len in [0usize, 1, 65_535, 65_536, 200_000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 13 + 1) as u8).collect();
            let mut z = Vec::new();
            zlib_stored(&mut z, &data).unwrap();
            let mut back = Vec::new();
            flate2::read::ZlibDecoder::new(&z[..])
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, data, "length {len}");
        }
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    /// Git's delta decoding, written from the format's description, to
    /// check what `delta` writes (git itself reads real packs in the
    /// stage tests).
    fn undelta(base: &[u8], d: &[u8]) -> Vec<u8> {
        let mut i = 0;
        let mut size = || {
            let (mut n, mut shift) = (0usize, 0);
            loop {
                let b = d[i];
                i += 1;
                n |= usize::from(b & 0x7f) << shift;
                shift += 7;
                if b & 0x80 == 0 {
                    return n;
                }
            }
        };
        assert_eq!(size(), base.len());
        let target_len = size();
        let mut out = Vec::new();
        while i < d.len() {
            let op = d[i];
            i += 1;
            if op & 0x80 != 0 {
                let (mut offset, mut n) = (0usize, 0usize);
                for k in 0..4 {
                    if op & (1 << k) != 0 {
                        offset |= usize::from(d[i]) << (8 * k);
                        i += 1;
                    }
                }
                for k in 0..3 {
                    if op & (1 << (4 + k)) != 0 {
                        n |= usize::from(d[i]) << (8 * k);
                        i += 1;
                    }
                }
                if n == 0 {
                    n = 0x10000;
                }
                out.extend_from_slice(&base[offset..offset + n]);
            } else {
                assert!(op != 0, "reserved instruction");
                out.extend_from_slice(&d[i..i + usize::from(op)]);
                i += usize::from(op);
            }
        }
        assert_eq!(out.len(), target_len);
        out
    }

    fn tree(names: &[(&str, u8)]) -> Vec<u8> {
        let mut t = Vec::new();
        for (name, id) in names {
            t.extend_from_slice(format!("40000 {name}\0").as_bytes());
            t.extend_from_slice(&[*id; 20]);
        }
        t
    }

    #[test]
    fn tree_deltas_rebuild_the_target_and_stay_small() {
        let names: Vec<String> = (0..3000).map(|i| format!("host{i:04}")).collect();
        let base = tree(&names.iter().map(|n| (n.as_str(), 1)).collect::<Vec<_>>());
        // Three entries change, one goes, one comes: a delta of a few
        // instructions rebuilds the 100 kB tree.
        let mut changed: Vec<(&str, u8)> = names.iter().map(|n| (n.as_str(), 1)).collect();
        changed[7].1 = 2;
        changed[1500].1 = 3;
        changed[2999].1 = 4;
        changed.remove(42);
        changed.insert(100, ("host0099a", 5));
        let target = tree(&changed);
        let d = delta(&base, &target, ObjectType::Tree);
        assert_eq!(undelta(&base, &d), target);
        assert!(d.len() < 400, "{} bytes", d.len());
        // Unrelated or odd bytes still round-trip.
        for (b, t) in [
            (&b""[..], &b"abc"[..]),
            (&b"abc"[..], &b""[..]),
            (&base[..], &b"not a tree"[..]),
            (&b"x\0short"[..], &target[..]),
        ] {
            for kind in [ObjectType::Tree, ObjectType::Blob] {
                assert_eq!(undelta(b, &delta(b, t, kind)), t);
            }
        }
        let big = vec![7u8; 200_000];
        let mut t2 = big.clone();
        t2.push(0);
        t2.extend_from_slice(&[9; 20]);
        assert_eq!(
            undelta(&t2, &delta(&t2, &t2, ObjectType::Tree)),
            t2,
            "copies over 64 KiB split"
        );
    }

    #[test]
    fn file_deltas_copy_the_lines_that_stayed() {
        let base: String = (0..400)
            .map(|i| format!("  users.users.u{i} = {{\n    uid = {i};\n  }};\n"))
            .collect();
        // A block goes, an import comes, repeated lines (`  };`) abound.
        let target = base
            .replace("  users.users.u7 = {\n    uid = 7;\n  };\n", "")
            .replacen(
                "  users.users.u0",
                "  imports = [ ../x ];\n  users.users.u0",
                1,
            );
        let d = delta(base.as_bytes(), target.as_bytes(), ObjectType::Blob);
        assert_eq!(undelta(base.as_bytes(), &d), target.as_bytes());
        assert!(d.len() < 80, "{} bytes for {}", d.len(), target.len());
    }

    #[test]
    fn entry_sizes_take_as_many_bytes_as_they_need() {
        let header = |size| {
            let mut v = Vec::new();
            entry_header(&mut v, 3, size);
            v
        };
        assert_eq!(header(0), [0x30]);
        assert_eq!(header(15), [0x3f]);
        assert_eq!(header(16), [0xb0, 0x01]);
        assert_eq!(header(2047), [0xbf, 0x7f]);
        assert_eq!(header(2048), [0xb0, 0x80, 0x01]);
    }
}
