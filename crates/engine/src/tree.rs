//! The plan of a local tree upload (`FileSystemUpload`, the CLI): the folder
//! chain of the target, then walked paths → the folders to create and each
//! file's target (`docs/compat.md §4.2, §5.4, §6`). Planning sends nothing:
//! a dry run prints it, a shard writer splits it, an upload sends it.

use std::collections::HashSet;
use std::path::PathBuf;

use crate::naming::{split_extension, Naming};
use crate::target::{encode_component, posix_basename, Target, TargetResolver, URI_COMPONENT};
use crate::walk::{WalkResult, Walked};
use crate::Result;

/// A folder to create: its decoded DAM path and its `jcr:title`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Folder {
    pub path: String,
    pub title: String,
}

/// The folders to create for a target folder path before anything is
/// walked (`docs/compat.md §5.4`): `/content/dam` alone has none; a leading
/// `/content/dam/` is dropped; any other path is created under
/// `/content/dam` as it is. Each cumulative prefix is a folder titled by
/// its last segment.
pub fn folder_chain(target_folder: &str) -> Vec<Folder> {
    let trimmed = if target_folder == "/content/dam" { "" } else { target_folder };
    let trimmed = if trimmed.starts_with("/content/dam/") { &trimmed["/content/dam".len()..] } else { trimmed };
    let mut current = String::from("/content/dam");
    trimmed
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|segment| {
            current.push('/');
            current.push_str(segment);
            Folder { path: current.clone(), title: segment.to_string() }
        })
        .collect()
}

/// Where the files of a tree go.
#[derive(Clone, Debug)]
pub struct TreeTarget {
    /// `protocol//host[:port]` of AEM (`getUrlPrefix()`).
    pub url_prefix: String,
    /// The decoded target folder path (`getTargetFolderPath()`).
    pub folder: String,
    /// Deep mode: directories become folders (`docs/compat.md §5.1`).
    pub deep: bool,
}

/// One file of a plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedFile {
    /// The local path, as walked.
    pub source: PathBuf,
    pub size: u64,
    /// Its folder: an index in [`TreePlan::folders`], or `None` for the target folder.
    pub folder: Option<usize>,
    /// Its node name.
    pub name: String,
    /// The asset URL, built from the folder's path and the node name.
    pub url: String,
}

/// What a tree upload creates, in walk order (parents before children).
#[derive(Clone, Debug, Default)]
pub struct TreePlan {
    /// Folders mirrored from local directories (deep mode), not the chain.
    pub folders: Vec<Folder>,
    pub files: Vec<PlannedFile>,
}

impl TreePlan {
    /// Plans the walked paths under `target`, named by `naming`.
    pub fn new(walk: &WalkResult, target: &TreeTarget, naming: &Naming) -> TreePlan {
        let mut plan = TreePlan::default();
        // Folder URLs (`<prefix><encoded path>/`), by folder index + 1; 0 is the target folder.
        let mut folder_urls = vec![folder_url(&target.url_prefix, &target.folder)];
        let add_folder = |plan: &mut TreePlan, urls: &mut Vec<String>, path: String, title: &str| {
            urls.push(folder_url(&target.url_prefix, &path));
            plan.folders.push(Folder { path, title: title.to_string() });
            plan.folders.len() - 1
        };
        let mut files = Vec::new();
        for walked in &walk.walked {
            match walked {
                Walked::File(file) => files.push((None, file)),
                Walked::Tree { files: tree_files, .. } if !target.deep => {
                    files.extend(tree_files.iter().map(|file| (None, file)))
                }
                Walked::Tree { root, directories, files: tree_files } => {
                    let title = local_name(root);
                    let path = format!("{}/{}", target.folder, naming.folder(&title));
                    let root_index = add_folder(&mut plan, &mut folder_urls, path, &title);
                    let mut indexes = Vec::with_capacity(directories.len());
                    for dir in directories {
                        let parent = dir.parent.map_or(root_index, |p| indexes[p]);
                        let title = local_name(&dir.path);
                        let path = format!("{}/{}", plan.folders[parent].path, naming.folder(&title));
                        indexes.push(add_folder(&mut plan, &mut folder_urls, path, &title));
                    }
                    files.extend(
                        tree_files.iter().map(|file| (Some(file.parent.map_or(root_index, |p| indexes[p])), file)),
                    );
                }
            }
            for (folder, file) in files.drain(..) {
                let name = naming.asset(&local_name(&file.path));
                let base = &folder_urls[folder.map_or(0, |f| f + 1)];
                let url = format!("{base}{}", encode_component(&name, URI_COMPONENT));
                plan.files.push(PlannedFile { source: file.path.clone(), size: file.size, folder, name, url });
            }
        }
        plan
    }

    /// Every file's target, in order, or why its URL cannot be used (a
    /// target that does not parse fails an upload call as a whole).
    pub fn targets(&self) -> Vec<Result<Target>> {
        let mut resolver = TargetResolver::default();
        self.files.iter().map(|file| resolver.resolve(file.url.clone(), "fileUrl")).collect()
    }

    /// The bytes of all files.
    pub fn total_size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// The local names a custom processor is asked about, each once, in walk
/// order: directory names (deep mode) and file names' parts before the
/// extension (`docs/compat.md §6`).
pub fn local_names(walk: &WalkResult, deep: bool) -> (Vec<String>, Vec<String>) {
    let (mut folders, mut stems) = (Vec::new(), Vec::new());
    let (mut seen_folders, mut seen_stems) = (HashSet::new(), HashSet::new());
    let mut folder = |name: String| {
        if seen_folders.insert(name.clone()) {
            folders.push(name);
        }
    };
    for walked in &walk.walked {
        if let (true, Walked::Tree { root, directories, .. }) = (deep, walked) {
            folder(local_name(root));
            directories.iter().for_each(|d| folder(local_name(&d.path)));
        }
        let files: &mut dyn Iterator<Item = _> = match walked {
            Walked::File(file) => &mut std::iter::once(file),
            Walked::Tree { files, .. } => &mut files.iter(),
        };
        for file in files {
            let name = local_name(&file.path);
            let stem = split_extension(&name).0.to_string();
            if seen_stems.insert(stem.clone()) {
                stems.push(stem);
            }
        }
    }
    (folders, stems)
}

/// A local path's last component, as Node's `path.basename` gives it.
fn local_name(path: &std::path::Path) -> String {
    posix_basename(&path.to_string_lossy()).to_string()
}

/// `<prefix><each segment encodeURIComponent'ed>/`.
fn folder_url(prefix: &str, path: &str) -> String {
    let mut url = String::with_capacity(prefix.len() + path.len() + 8);
    url.push_str(prefix);
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            url.push('/');
        }
        url.push_str(&encode_component(segment, URI_COMPONENT));
    }
    url.push('/');
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::walk::{WalkedDir, WalkedFile};

    fn chain(path: &str) -> Vec<(String, String)> {
        folder_chain(path).into_iter().map(|f| (f.path, f.title)).collect()
    }

    #[test]
    fn the_chain_is_made_under_content_dam() {
        assert!(chain("/content/dam").is_empty());
        assert_eq!(
            chain("/content/dam/a b/c"),
            [("/content/dam/a b".into(), "a b".into()), ("/content/dam/a b/c".into(), "c".into())]
        );
        assert_eq!(
            chain("/other/x"),
            [("/content/dam/other".into(), "other".into()), ("/content/dam/other/x".into(), "x".into())]
        );
        assert_eq!(
            chain("/content/damx"),
            [("/content/dam/content".into(), "content".into()), ("/content/dam/content/damx".into(), "damx".into())]
        );
    }

    fn walked() -> WalkResult {
        let file = |p: &str, parent| WalkedFile { path: PathBuf::from(p), size: 3, parent };
        WalkResult {
            walked: vec![
                Walked::File(file("/l/Top File.JPG", None)),
                Walked::Tree {
                    root: PathBuf::from("/l/My Dir/"),
                    directories: vec![WalkedDir { path: PathBuf::from("/l/My Dir/Sub #1"), parent: None }],
                    files: vec![file("/l/My Dir/a.b.txt", None), file("/l/My Dir/Sub #1/x%y.png", Some(0))],
                },
            ],
            warnings: Vec::new(),
        }
    }

    #[test]
    fn a_deep_plan_mirrors_directories_with_node_names() {
        let target = TreeTarget { url_prefix: "http://h:4502".into(), folder: "/content/dam/t t".into(), deep: true };
        let plan = TreePlan::new(&walked(), &target, &Naming::defaults("-"));
        let folders: Vec<_> = plan.folders.iter().map(|f| (f.path.as_str(), f.title.as_str())).collect();
        assert_eq!(folders, [("/content/dam/t t/my-dir", "My Dir"), ("/content/dam/t t/my-dir/sub--1", "Sub #1")]);
        let urls: Vec<_> = plan.files.iter().map(|f| f.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "http://h:4502/content/dam/t%20t/Top%20File.JPG",
                "http://h:4502/content/dam/t%20t/my-dir/a.b.txt",
                "http://h:4502/content/dam/t%20t/my-dir/sub--1/x-y.png"
            ]
        );
        let targets = plan.targets();
        assert_eq!(targets[2].as_ref().unwrap().path(), "/content/dam/t t/my-dir/sub--1/x-y.png");
        assert_eq!(plan.files[2].folder, Some(1));
        assert_eq!(plan.total_size(), 9);
    }

    #[test]
    fn a_shallow_plan_puts_every_file_in_the_target_and_custom_names_are_looked_up() {
        let target = TreeTarget { url_prefix: "http://h".into(), folder: "/content/dam".into(), deep: false };
        let (folders, stems) = local_names(&walked(), false);
        assert!(folders.is_empty());
        assert_eq!(stems, ["Top File", "a.b", "x%y"]);
        let naming = Naming {
            assets: crate::naming::Processor::Given(stems.iter().map(|s| (s.clone(), format!("{s}:1"))).collect()),
            ..Naming::defaults("_")
        };
        let plan = TreePlan::new(&walked(), &target, &naming);
        assert!(plan.folders.is_empty());
        let names: Vec<_> = plan.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["Top File_1.JPG", "a.b_1.txt", "x%y_1.png"]);
        assert_eq!(local_names(&walked(), true).0, ["My Dir", "Sub #1"]);
    }
}
