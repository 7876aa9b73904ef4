//! Git objects made in memory (blobs, trees, commits) and named as git
//! names them: the SHA-1 of `<kind> <size>\0` and the contents.
//!
//! [`super::commit`] writes a tree per changed directory per commit. Going
//! through libgit2 for that (a tree builder that reads, sorts and hashes a
//! whole directory again for every commit, and an object database for
//! every object) cost more than all the rest of the commits; here a
//! directory's entries stay in memory from one commit to the next and only
//! the bytes of the objects are made. Nothing here touches a repository:
//! the objects go to [`super::pack`], and git reads them back from there.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

use git2::{ObjectType, Oid, Signature, Tree};
use sha1::{Digest, Sha1};

use super::{MODE_BLOB, MODE_COMMIT, MODE_EXEC, MODE_LINK, MODE_TREE};

/// One object made, with the object it replaced at its path (the base the
/// pack may store it as a delta against).
pub struct Made<'a> {
    pub id: Oid,
    pub kind: ObjectType,
    pub data: Cow<'a, [u8]>,
    pub replaces: Option<Oid>,
}

/// Every object made, each once, in the order made.
#[derive(Default)]
pub struct Store<'a> {
    objects: Vec<Made<'a>>,
    seen: HashSet<Oid>,
}

impl<'a> Store<'a> {
    /// Adds an object unless one with the same id is there; its id.
    pub fn add(&mut self, kind: ObjectType, data: Cow<'a, [u8]>, replaces: Option<Oid>) -> Oid {
        let id = id_of(kind, &data);
        if self.seen.insert(id) {
            self.objects.push(Made {
                id,
                kind,
                data,
                replaces: replaces.filter(|r| *r != id),
            });
        }
        id
    }

    pub fn objects(&self) -> &[Made<'a>] {
        &self.objects
    }
}

/// The id git gives an object of `kind` with contents `data`.
pub fn id_of(kind: ObjectType, data: &[u8]) -> Oid {
    let mut h = Sha1::new();
    h.update(kind.str().as_bytes());
    h.update(b" ");
    h.update(data.len().to_string().as_bytes());
    h.update(b"\0");
    h.update(data);
    let digest: [u8; 20] = h.finalize().into();
    Oid::from_bytes(&digest).expect("a SHA-1 digest is 20 bytes")
}

/// A directory: its entries by name, in git's order (a subdirectory sorts
/// as if its name ended in `/`, so the map key of a tree is its name and
/// a `/`).
#[derive(Default, Clone)]
pub struct Dir {
    entries: BTreeMap<Vec<u8>, (i32, Oid)>,
}

fn key(name: &[u8], mode: i32) -> Vec<u8> {
    let mut k = Vec::with_capacity(name.len() + 1);
    k.extend_from_slice(name);
    if mode == MODE_TREE {
        k.push(b'/');
    }
    k
}

impl Dir {
    /// The entries of a tree in the repository.
    pub fn read(tree: &Tree<'_>) -> Dir {
        let entries = tree
            .iter()
            .map(|e| (key(e.name_bytes(), e.filemode()), (e.filemode(), e.id())))
            .collect();
        Dir { entries }
    }

    /// Mode and id of the entry named `name`.
    pub fn get(&self, name: &[u8]) -> Option<(i32, Oid)> {
        self.entries
            .get(name)
            .or_else(|| self.entries.get(&key(name, MODE_TREE)))
            .copied()
    }

    pub fn set(&mut self, name: &[u8], mode: i32, id: Oid) {
        self.remove(name);
        self.entries.insert(key(name, mode), (mode, id));
    }

    pub fn remove(&mut self, name: &[u8]) {
        if self.entries.remove(name).is_none() {
            self.entries.remove(&key(name, MODE_TREE));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The tree object's contents: per entry, the mode in octal, a space,
    /// the name, a NUL and the 20 bytes of the id.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.entries.len() * 40);
        for (k, (mode, id)) in &self.entries {
            let name = if *mode == MODE_TREE {
                &k[..k.len() - 1]
            } else {
                &k[..]
            };
            match *mode {
                MODE_TREE => out.extend_from_slice(b"40000 "),
                MODE_BLOB => out.extend_from_slice(b"100644 "),
                MODE_EXEC => out.extend_from_slice(b"100755 "),
                MODE_LINK => out.extend_from_slice(b"120000 "),
                MODE_COMMIT => out.extend_from_slice(b"160000 "),
                m => out.extend_from_slice(format!("{m:o} ").as_bytes()),
            }
            out.extend_from_slice(name);
            out.push(0);
            out.extend_from_slice(id.as_bytes());
        }
        out
    }
}

/// A commit object's contents, as `git commit` writes them.
pub fn commit_bytes(
    tree: Oid,
    parent: Oid,
    author: &Signature<'_>,
    committer: &Signature<'_>,
    message: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + message.len());
    out.extend_from_slice(format!("tree {tree}\nparent {parent}\n").as_bytes());
    signature(&mut out, b"author", author);
    signature(&mut out, b"committer", committer);
    out.push(b'\n');
    out.extend_from_slice(message.as_bytes());
    out
}

/// `<role> <name> <<email>> <seconds> <+hhmm>`.
fn signature(out: &mut Vec<u8>, role: &[u8], sig: &Signature<'_>) {
    let when = sig.when();
    let offset = when.offset_minutes().unsigned_abs();
    out.extend_from_slice(role);
    out.push(b' ');
    out.extend_from_slice(sig.name_bytes());
    out.extend_from_slice(b" <");
    out.extend_from_slice(sig.email_bytes());
    out.extend_from_slice(
        format!(
            "> {} {}{:02}{:02}\n",
            when.seconds(),
            when.sign(),
            offset / 60,
            offset % 60
        )
        .as_bytes(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use git2::{Repository, Time};

    fn repo() -> (tempfile::TempDir, Repository) {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        (dir, repo)
    }

    #[test]
    fn ids_match_libgit2() {
        let (_d, repo) = repo();
        for data in [&b""[..], b"hello\n", &[0u8, 1, 2, 255][..]] {
            assert_eq!(id_of(ObjectType::Blob, data), repo.blob(data).unwrap());
        }
    }

    /// Names that sort differently as files and as directories, and every
    /// mode: the bytes and id are those of libgit2's tree builder.
    #[test]
    fn trees_match_libgit2() {
        let (_d, repo) = repo();
        let blob = repo.blob(b"x").unwrap();
        let sub = {
            let mut tb = repo.treebuilder(None).unwrap();
            tb.insert("f", blob, 0o100644).unwrap();
            tb.write().unwrap()
        };
        let entries: &[(&str, i32, Oid)] = &[
            ("a", MODE_TREE, sub),
            ("a.b", 0o100644, blob),
            ("a-b", 0o100755, blob),
            ("a0", 0o120000, blob),
            ("b", 0o100644, blob),
            ("b.c", MODE_TREE, sub),
            ("Z", 0o100644, blob),
        ];
        let mut tb = repo.treebuilder(None).unwrap();
        let mut dir = Dir::default();
        for (name, mode, id) in entries {
            tb.insert(name, *id, *mode).unwrap();
            dir.set(name.as_bytes(), *mode, *id);
        }
        let want = tb.write().unwrap();
        let bytes = dir.bytes();
        assert_eq!(id_of(ObjectType::Tree, &bytes), want);
        assert_eq!(
            repo.find_object(want, None)
                .unwrap()
                .peel_to_tree()
                .map(|t| Dir::read(&t).bytes())
                .unwrap(),
            bytes
        );
        // Replacing and removing keep the order.
        dir.set(b"a", 0o100644, blob);
        tb.insert("a", blob, 0o100644).unwrap();
        dir.remove(b"b.c");
        tb.remove("b.c").unwrap();
        assert_eq!(id_of(ObjectType::Tree, &dir.bytes()), tb.write().unwrap());
        assert_eq!(dir.get(b"a"), Some((0o100644, blob)));
        assert_eq!(dir.get(b"b.c"), None);
    }

    #[test]
    fn commits_match_libgit2() {
        let (_d, repo) = repo();
        let tree = repo.treebuilder(None).unwrap().write().unwrap();
        let tree_obj = repo.find_tree(tree).unwrap();
        let first = {
            let sig = Signature::new("A", "a@example.com", &Time::new(1_700_000_000, 0)).unwrap();
            repo.commit(None, &sig, &sig, "first\n", &tree_obj, &[])
                .unwrap()
        };
        let parent = repo.find_commit(first).unwrap();
        for (offset, name) in [(0, "Zoë Ä"), (330, "Someone"), (-420, "Other One")] {
            let author =
                Signature::new(name, "a@example.com", &Time::new(1_700_000_123, offset)).unwrap();
            let committer =
                Signature::new("C", "c@example.com", &Time::new(1_700_000_456, -offset)).unwrap();
            let message = "users: share alice\n\nBody line.\n";
            let want = repo
                .commit(None, &author, &committer, message, &tree_obj, &[&parent])
                .unwrap();
            let bytes = commit_bytes(tree, first, &author, &committer, message);
            assert_eq!(
                id_of(ObjectType::Commit, &bytes),
                want,
                "{}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }
}
