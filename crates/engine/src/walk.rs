//! The local walk of `FileSystemUpload` (docs/compat.md §5.1, §5.3): breadth-first,
//! children in byte-wise name order, skip rules applied, limits checked as
//! the reference checks them. Naming is left to the caller, which may run
//! user-supplied processors.

use std::fs;
use std::path::{Path, PathBuf};

use crate::naming::is_skipped;
use crate::{Error, ErrorCode, Result};

/// A directory found below a walked root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalkedDir {
    pub path: PathBuf,
    /// Index of the parent in the same root's `directories`; `None`: the root itself.
    pub parent: Option<usize>,
}

/// A file to upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalkedFile {
    pub path: PathBuf,
    pub size: u64,
    /// As for [`WalkedDir::parent`]; always `None` in shallow mode.
    pub parent: Option<usize>,
}

/// What one local path contributed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Walked {
    /// A file given directly: it goes to the target root.
    File(WalkedFile),
    /// A directory given directly. In deep mode it becomes a folder itself.
    Tree { root: PathBuf, directories: Vec<WalkedDir>, files: Vec<WalkedFile> },
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WalkResult {
    pub walked: Vec<Walked>,
    /// Paths that could not be read; logged at warn by the caller, never fatal.
    pub warnings: Vec<String>,
}

impl WalkResult {
    pub fn file_count(&self) -> usize {
        self.walked
            .iter()
            .map(|w| match w {
                Walked::File(_) => 1,
                Walked::Tree { files, .. } => files.len(),
            })
            .sum()
    }

    /// Mirrored directories (deep mode): each tree root plus everything below it.
    pub fn directory_count(&self, deep: bool) -> usize {
        if !deep {
            return 0;
        }
        self.walked
            .iter()
            .map(|w| if let Walked::Tree { directories, .. } = w { directories.len() + 1 } else { 0 })
            .sum()
    }
}

impl WalkResult {
    /// Each file's path relative to what was walked, with `/` separators: a
    /// lone file's name, or a tree file's path below its root. In walk order,
    /// the order [`WalkResult::retain_files`] counts in.
    pub fn relative_paths(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.file_count());
        for walked in &self.walked {
            match walked {
                Walked::File(file) => out.push(file_name(&file.path)),
                Walked::Tree { root, files, .. } => out.extend(files.iter().map(|file| {
                    let relative = file.path.strip_prefix(root).unwrap_or(&file.path);
                    relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
                })),
            }
        }
        out
    }

    /// The walk with only the files `keep(n)` accepts (n counting files in
    /// walk order) and only the directories above a kept file: a folder a
    /// filter leaves empty is not created. Tree roots stay.
    pub fn retain_files(&self, mut keep: impl FnMut(usize) -> bool) -> WalkResult {
        let mut n = 0;
        let mut next = || {
            n += 1;
            keep(n - 1)
        };
        let mut walked = Vec::with_capacity(self.walked.len());
        for entry in &self.walked {
            match entry {
                Walked::File(file) => {
                    if next() {
                        walked.push(Walked::File(file.clone()));
                    }
                }
                Walked::Tree { root, directories, files } => {
                    let files: Vec<&WalkedFile> = files.iter().filter(|_| next()).collect();
                    let mut needed = vec![false; directories.len()];
                    for file in &files {
                        let mut at = file.parent;
                        while let Some(d) = at.filter(|d| !needed[*d]) {
                            needed[d] = true;
                            at = directories[d].parent;
                        }
                    }
                    // Parents come before their children: one pass renumbers them.
                    let mut index = vec![None; directories.len()];
                    let mut kept_dirs = Vec::new();
                    for (i, dir) in directories.iter().enumerate().filter(|(i, _)| needed[*i]) {
                        index[i] = Some(kept_dirs.len());
                        kept_dirs.push(WalkedDir { path: dir.path.clone(), parent: dir.parent.and_then(|p| index[p]) });
                    }
                    let files = files
                        .into_iter()
                        .map(|f| WalkedFile { parent: f.parent.and_then(|p| index[p]), ..f.clone() })
                        .collect();
                    walked.push(Walked::Tree { root: root.clone(), directories: kept_dirs, files });
                }
            }
        }
        WalkResult { walked, warnings: self.warnings.clone() }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Walks `paths` in order. `max` is `getMaxUploadFiles()`.
pub fn walk(paths: &[PathBuf], deep: bool, max: usize) -> Result<WalkResult> {
    let mut result = WalkResult::default();
    let mut total_files = 0usize;
    for path in paths {
        if !is_skipped(&path.to_string_lossy()) {
            match fs::metadata(path) {
                Err(e) => result.warnings.push(format!("Cannot read '{}': {e}", path.display())),
                Ok(meta) if meta.is_dir() => {
                    let tree = walk_directory(path, deep, max, &mut result.warnings)?;
                    if let Walked::Tree { files, .. } = &tree {
                        total_files += files.len();
                    }
                    result.walked.push(tree);
                }
                Ok(meta) if meta.is_file() => {
                    total_files += 1;
                    result.walked.push(Walked::File(WalkedFile { path: path.clone(), size: meta.len(), parent: None }));
                }
                Ok(_) => {}
            }
        }
        if total_files > max {
            return Err(Error::new(
                ErrorCode::TooLarge,
                format!("File system upload has exceeded maximum of {max} allowed files"),
            ));
        }
    }
    Ok(result)
}

fn walk_directory(root: &Path, deep: bool, max: usize, warnings: &mut Vec<String>) -> Result<Walked> {
    let mut directories: Vec<WalkedDir> = Vec::new();
    let mut files: Vec<WalkedFile> = Vec::new();
    // Breadth-first, a level at a time: (path, index in `directories`, None for the root).
    let mut level: Vec<(PathBuf, Option<usize>)> = vec![(root.to_path_buf(), None)];
    while !level.is_empty() {
        let listings = list_all(&level);
        let mut next = Vec::new();
        for ((dir, index), listing) in level.into_iter().zip(listings) {
            let listing = match listing {
                Ok(listing) => listing,
                Err(e) => {
                    warnings.push(format!("Cannot read directory '{}': {e}", dir.display()));
                    continue;
                }
            };
            for entry in listing {
                match entry {
                    Entry::Unreadable(error) => {
                        warnings.push(format!("Cannot read an entry of '{}': {error}", dir.display()))
                    }
                    Entry::Stat(path, Err(e)) => warnings.push(format!("Cannot read '{}': {e}", path.display())),
                    Entry::Stat(path, Ok(meta)) if meta.is_dir() => {
                        directories.push(WalkedDir { path: path.clone(), parent: index });
                        if deep {
                            next.push((path, Some(directories.len() - 1)));
                        }
                    }
                    Entry::Stat(path, Ok(meta)) if meta.is_file() => {
                        files.push(WalkedFile { path, size: meta.len(), parent: if deep { index } else { None } })
                    }
                    Entry::Stat(..) => {} // sockets, FIFOs, devices
                }
            }
            if directories.len() + files.len() > max {
                return Err(Error::new(
                    ErrorCode::TooLarge,
                    format!("Walked directory exceeded the maximum number of {max} paths"),
                ));
            }
        }
        level = next;
    }
    Ok(Walked::Tree { root: root.to_path_buf(), directories, files })
}

/// One entry of a directory listing, after the skip rules.
enum Entry {
    Unreadable(std::io::Error),
    Stat(PathBuf, std::io::Result<fs::Metadata>),
}

/// Lists and stats the directories of one level, in order. Thousands of
/// `statx` calls are most of a walk's time: a level of several directories
/// is split across two threads (directories, not entries, so that the two
/// never contend on one parent's lookups).
fn list_all(level: &[(PathBuf, Option<usize>)]) -> Vec<std::io::Result<Vec<Entry>>> {
    let list = |dirs: &[(PathBuf, Option<usize>)]| dirs.iter().map(|(dir, _)| list(dir)).collect::<Vec<_>>();
    if level.len() < 2 {
        return list(level);
    }
    let (first, second) = level.split_at(level.len() / 2);
    std::thread::scope(|scope| {
        let other = scope.spawn(|| list(second));
        let mut all = list(first);
        all.extend(other.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        all
    })
}

/// A directory's entries in byte-wise name order, skipped ones left out, each stat'ed.
fn list(dir: &Path) -> std::io::Result<Vec<Entry>> {
    let mut unreadable = Vec::new();
    let mut names: Vec<(Vec<u8>, fs::DirEntry)> = fs::read_dir(dir)?
        .filter_map(|e| e.map_err(|err| unreadable.push(Entry::Unreadable(err))).ok())
        .map(|e| (os_bytes(&e.file_name()), e))
        .collect();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    let mut entries = unreadable;
    for (_, entry) in names {
        let path = entry.path();
        if is_skipped(&path.to_string_lossy()) {
            continue;
        }
        let meta = metadata(&entry, &path);
        entries.push(Entry::Stat(path, meta));
    }
    Ok(entries)
}

/// What `fs::metadata` (which follows links) says of a directory entry. An
/// entry that is not a link gives the same answer from the directory itself
/// (`statx` relative to its descriptor, no walk of the whole path): a
/// fraction of the cost on thousands of files.
fn metadata(entry: &fs::DirEntry, path: &Path) -> std::io::Result<fs::Metadata> {
    match entry.file_type() {
        Ok(kind) if !kind.is_symlink() => entry.metadata(),
        _ => fs::metadata(path),
    }
}

#[cfg(unix)]
fn os_bytes(name: &std::ffi::OsStr) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    name.as_bytes().to_vec()
}

#[cfg(not(unix))]
fn os_bytes(name: &std::ffi::OsStr) -> Vec<u8> {
    name.to_string_lossy().as_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    #[test]
    fn retain_files_keeps_only_the_folders_above_kept_files() {
        let temp = tempfile::tempdir().unwrap();
        // Not the temp dir itself: its name starts with a dot, which the walk skips.
        let dir = &temp.path().join("root");
        for rel in ["a/x.txt", "a/b/y.txt", "c/z.txt", "d/e/w.txt"] {
            let path = dir.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "1").unwrap();
        }
        let walked = walk(&[dir.to_path_buf()], true, 100).unwrap();
        let paths = walked.relative_paths();
        let kept = walked.retain_files(|n| paths[n].ends_with("y.txt") || paths[n].ends_with("z.txt"));
        let mut kept_paths = kept.relative_paths();
        kept_paths.sort();
        assert_eq!(kept_paths, ["a/b/y.txt", "c/z.txt"]);
        let Walked::Tree { directories, files, .. } = &kept.walked[0] else { panic!("a tree") };
        let names: Vec<_> = directories.iter().map(|d| d.path.strip_prefix(dir).unwrap().to_path_buf()).collect();
        assert_eq!(names.len(), 3, "a, a/b and c: d and d/e hold no kept file ({names:?})");
        for file in files {
            let parent = &directories[file.parent.unwrap()];
            assert_eq!(file.path.parent().unwrap(), parent.path);
        }
        for d in directories.iter().filter_map(|d| d.parent) {
            assert!(d < directories.len());
        }
    }

    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        for d in ["b", "a/deep", "Empty", ".hidden"] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        for (f, n) in
            [("z.txt", 3), ("B.txt", 1), ("a/one.jpg", 2), ("a/deep/two.jpg", 0), ("Thumbs.db", 1), (".hidden/x", 1)]
        {
            fs::write(root.join(f), vec![7u8; n]).unwrap();
        }
        dir
    }

    fn names(files: &[WalkedFile], base: &Path) -> Vec<String> {
        files.iter().map(|f| f.path.strip_prefix(base).unwrap().display().to_string()).collect()
    }

    #[test]
    fn deep_walk_is_breadth_first_in_byte_order() {
        let dir = tree();
        let root = dir.path().join("root");
        let result = walk(std::slice::from_ref(&root), true, 100).unwrap();
        let Walked::Tree { directories, files, .. } = &result.walked[0] else { panic!() };
        let dirs: Vec<_> =
            directories.iter().map(|d| d.path.strip_prefix(&root).unwrap().display().to_string()).collect();
        assert_eq!(dirs, ["Empty", "a", "b", "a/deep"]);
        assert_eq!(directories[3].parent, Some(1));
        assert_eq!(names(files, &root), ["B.txt", "z.txt", "a/one.jpg", "a/deep/two.jpg"]);
        assert_eq!(files[3].size, 0, "zero-byte files are kept");
        assert_eq!(files[3].parent, Some(3));
        assert_eq!(result.directory_count(true), 5);
    }

    #[test]
    fn shallow_walk_takes_only_top_files_but_counts_directories() {
        let dir = tree();
        let root = dir.path().join("root");
        let result = walk(std::slice::from_ref(&root), false, 100).unwrap();
        let Walked::Tree { directories, files, .. } = &result.walked[0] else { panic!() };
        assert_eq!(names(files, &root), ["B.txt", "z.txt"]);
        assert_eq!(directories.len(), 3);
        assert!(files.iter().all(|f| f.parent.is_none()));
        // 3 directories + 2 files > 4
        let err = walk(&[root], false, 4).unwrap_err();
        assert_eq!(err.code(), ErrorCode::TooLarge);
        assert_eq!(err.message(), "Walked directory exceeded the maximum number of 4 paths");
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed() {
        let dir = tree();
        let root = dir.path().join("root");
        std::os::unix::fs::symlink(root.join("z.txt"), root.join("link.txt")).unwrap();
        std::os::unix::fs::symlink(root.join("a"), root.join("linked-dir")).unwrap();
        std::os::unix::fs::symlink(root.join("missing"), root.join("broken")).unwrap();
        let result = walk(std::slice::from_ref(&root), true, 100).unwrap();
        let Walked::Tree { directories, files, .. } = &result.walked[0] else { panic!() };
        let link = files.iter().find(|f| f.path.ends_with("link.txt")).expect("linked file walked");
        assert_eq!(link.size, 3, "the size of the target, not of the link");
        assert!(directories.iter().any(|d| d.path.ends_with("linked-dir")));
        assert!(files.iter().any(|f| f.path.ends_with("linked-dir/one.jpg")));
        assert_eq!(result.warnings.len(), 1, "{:?}", result.warnings);
    }

    #[test]
    fn files_missing_paths_and_the_file_limit() {
        let dir = tree();
        let root = dir.path().join("root");
        let paths = vec![root.join("z.txt"), dir.path().join("missing"), root.join(".hidden"), root.join("B.txt")];
        let result = walk(&paths, true, 10).unwrap();
        assert_eq!(result.walked.len(), 2);
        assert_eq!(result.warnings.len(), 1);
        let err = walk(&paths, true, 1).unwrap_err();
        assert_eq!(err.message(), "File system upload has exceeded maximum of 1 allowed files");
    }
}
