//! The walk, the tree plan and target resolution, crossing as JSON text:
//! one string for any number of files.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use aem_upload_engine::naming::{self, Naming, Processor};
use aem_upload_engine::target::{Target, TargetResolver};
use aem_upload_engine::tree::{self, TreePlan, TreeTarget};
use aem_upload_engine::walk::{self, WalkResult};
use aem_upload_engine::Error as EngineError;
use napi_derive::napi;
use serde::Serialize;

use crate::error::{invalid, NativeError};

/// The targets of a call's files, resolved once: JS reads their decoded
/// paths with `describe()`, and `startUpload` takes them.
#[napi]
pub struct NativeTargets {
    targets: Mutex<Option<Vec<aem_upload_engine::Result<Target>>>>,
    /// For a plan's targets: each file's path and size as the walk found them.
    walked: Mutex<Vec<(PathBuf, u64)>>,
}

impl NativeTargets {
    fn of(targets: Vec<aem_upload_engine::Result<Target>>) -> NativeTargets {
        NativeTargets { targets: Mutex::new(Some(targets)), walked: Mutex::default() }
    }

    /// The targets, once; `None` when one could not be resolved.
    pub(crate) fn take(&self) -> Option<Vec<Target>> {
        self.targets.lock().unwrap().take()?.into_iter().collect::<Result<_, _>>().ok()
    }

    /// What the walk found for each file of a plan (empty for other calls), once.
    pub(crate) fn take_walked(&self) -> Vec<(PathBuf, u64)> {
        std::mem::take(&mut *self.walked.lock().unwrap())
    }
}

/// A resolved target as `[targetFile, targetFolder, fileName]`, or the error.
#[derive(Serialize)]
#[serde(untagged)]
enum TargetRecord<'a> {
    Target([&'a str; 3]),
    Error(NativeError),
}

#[napi]
impl NativeTargets {
    /// A JSON array with, per file, `[targetFile, targetFolder, fileName]`,
    /// or `{code, message}` for a URL that cannot be used (the call then
    /// fails with the first, sending nothing).
    #[napi]
    pub fn describe(&self) -> napi::Result<String> {
        let targets = self.targets.lock().unwrap();
        let targets = targets.as_ref().ok_or_else(|| invalid("the targets were used"))?;
        let records: Vec<TargetRecord> = targets
            .iter()
            .map(|target| match target {
                Ok(t) => TargetRecord::Target([t.path(), t.folder_path(), t.file_name()]),
                Err(error) => TargetRecord::Error(error.into()),
            })
            .collect();
        Ok(serde_json::to_string(&records).expect("targets serialise"))
    }
}

/// Resolves file URLs (a JSON array of strings) as `new URL` would, each
/// folder once.
#[napi]
pub fn resolve_targets(urls: String) -> napi::Result<NativeTargets> {
    let urls: Vec<String> = serde_json::from_str(&urls).map_err(|e| invalid(format!("target URLs: {e}")))?;
    let mut resolver = TargetResolver::default();
    Ok(NativeTargets::of(urls.into_iter().map(|url| resolver.resolve(url, "fileUrl")).collect()))
}

#[derive(Serialize)]
struct FolderRecord<'a> {
    path: &'a str,
    title: &'a str,
}

/// The folder chain of a decoded target folder path (`docs/compat.md §5.4`),
/// as a JSON array of `{path, title}`.
#[napi]
pub fn folder_chain(target_folder: String) -> String {
    let chain = tree::folder_chain(&target_folder);
    let records: Vec<_> = chain.iter().map(|f| FolderRecord { path: &f.path, title: &f.title }).collect();
    serde_json::to_string(&records).expect("folders serialise")
}

/// Walked local paths, held here until they are planned.
#[napi]
pub struct NativeWalk {
    walked: Result<Arc<WalkResult>, EngineError>,
    deep: bool,
}

/// Walks local paths (`docs/compat.md §5`) off the JS thread.
#[napi]
pub async fn walk_tree(paths: Vec<String>, deep: bool, max: u32) -> napi::Result<NativeWalk> {
    let paths: Vec<PathBuf> = paths.into_iter().map(PathBuf::from).collect();
    let walked = napi::bindgen_prelude::spawn_blocking(move || walk::walk(&paths, deep, max as usize))
        .await
        .map_err(|e| napi::Error::from_reason(e.to_string()))?;
    Ok(NativeWalk { walked: walked.map(Arc::new), deep })
}

#[derive(Serialize)]
struct WalkRecord<'a> {
    warnings: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<NativeError>,
}

#[derive(Serialize)]
struct NamesRecord {
    folders: Vec<String>,
    assets: Vec<String>,
}

/// How a plan names nodes: per kind, the default processor's replace value
/// or what a custom processor returned for each name `localNames()` listed
/// (a JSON array in that order).
#[napi(object)]
pub struct NativePlanOptions {
    pub url_prefix: String,
    pub target_folder: String,
    /// The mandatory step's replace value.
    pub replace: String,
    pub folder_replace: Option<String>,
    pub folder_names: Option<String>,
    pub asset_replace: Option<String>,
    pub asset_names: Option<String>,
}

#[napi]
impl NativeWalk {
    /// `{warnings, error?}`: unreadable paths (warnings, never fatal), or the
    /// limit that was exceeded (ETOOLARGE).
    #[napi]
    pub fn describe(&self) -> String {
        let record = match &self.walked {
            Ok(walked) => WalkRecord { warnings: &walked.warnings, error: None },
            Err(error) => WalkRecord { warnings: &[], error: Some(error.into()) },
        };
        serde_json::to_string(&record).expect("walk records serialise")
    }

    /// `{folders, assets}`: the local names custom processors are asked
    /// about, each once: directory names (deep mode) and file names' parts
    /// before the extension.
    #[napi]
    pub fn local_names(&self) -> napi::Result<String> {
        let (folders, assets) = tree::local_names(self.walked()?, self.deep);
        Ok(serde_json::to_string(&NamesRecord { folders, assets }).expect("names serialise"))
    }

    /// Plans the walk (names, folders, targets).
    #[napi]
    pub async fn plan(&self, options: NativePlanOptions) -> napi::Result<NativePlan> {
        let walked = Arc::clone(self.walked.as_ref().map_err(|e| invalid(e.message()))?);
        let (folders, assets) = match (&options.folder_names, &options.asset_names) {
            (None, None) => (Vec::new(), Vec::new()),
            _ => tree::local_names(&walked, self.deep),
        };
        let naming = Naming {
            folders: processor(options.folder_replace, options.folder_names, folders)?,
            assets: processor(options.asset_replace, options.asset_names, assets)?,
            replace: options.replace,
        };
        let target = TreeTarget { url_prefix: options.url_prefix, folder: options.target_folder, deep: self.deep };
        let plan = napi::bindgen_prelude::spawn_blocking(move || {
            let plan = TreePlan::new(&walked, &target, &naming);
            let targets = plan.targets();
            (plan, targets)
        })
        .await
        .map_err(|e| napi::Error::from_reason(e.to_string()))?;
        let targets = NativeTargets::of(plan.1);
        *targets.walked.lock().unwrap() = plan.0.files.iter().map(|f| (f.source.clone(), f.size)).collect();
        Ok(NativePlan { plan: plan.0, targets: Mutex::new(Some(targets)) })
    }
}

#[napi]
impl NativeWalk {
    /// A JSON array of each file's path relative to what was walked (`/`
    /// separators), in walk order: what `--include`/`--exclude` match.
    #[napi]
    pub fn relative_paths(&self) -> napi::Result<String> {
        Ok(serde_json::to_string(&self.walked()?.relative_paths()).expect("paths serialise"))
    }

    /// The walk with only the files whose `keep` entry is true (walk order)
    /// and the folders above them.
    #[napi]
    pub fn retain(&self, keep: Vec<bool>) -> napi::Result<NativeWalk> {
        let kept = self.walked()?.retain_files(|n| keep.get(n).copied().unwrap_or(false));
        Ok(NativeWalk { walked: Ok(Arc::new(kept)), deep: self.deep })
    }
}

impl NativeWalk {
    fn walked(&self) -> napi::Result<&WalkResult> {
        self.walked.as_deref().map_err(|e| invalid(e.message()))
    }
}

/// A processor from a default's replace value, or custom names given in
/// the order of `asked`.
fn processor(replace: Option<String>, given: Option<String>, asked: Vec<String>) -> napi::Result<Processor> {
    match (given, replace) {
        (Some(given), _) => {
            let given: Vec<String> = serde_json::from_str(&given).map_err(|e| invalid(format!("node names: {e}")))?;
            if given.len() != asked.len() {
                return Err(invalid("a node name is needed for every local name"));
            }
            Ok(Processor::Given(asked.into_iter().zip(given).collect()))
        }
        (None, Some(replace)) => Ok(Processor::Default { replace }),
        (None, None) => Err(invalid("a processor's replace value or its names are needed")),
    }
}

/// A planned tree upload.
#[napi]
pub struct NativePlan {
    plan: TreePlan,
    targets: Mutex<Option<NativeTargets>>,
}

#[derive(Serialize)]
struct PlanRecord<'a> {
    directories: Vec<FolderRecord<'a>>,
    /// `[filePath, fileSize, fileUrl]` per file.
    files: Vec<(std::borrow::Cow<'a, str>, u64, &'a str)>,
}

#[napi]
impl NativePlan {
    /// `{directories: [{path, title}], files: [[filePath, fileSize, fileUrl], …]}`.
    #[napi]
    pub fn describe(&self) -> String {
        let record = PlanRecord {
            directories: self.plan.folders.iter().map(|f| FolderRecord { path: &f.path, title: &f.title }).collect(),
            files: self.plan.files.iter().map(|f| (f.source.to_string_lossy(), f.size, f.url.as_str())).collect(),
        };
        serde_json::to_string(&record).expect("plans serialise")
    }

    /// The files' targets, once.
    #[napi]
    pub fn targets(&self) -> napi::Result<NativeTargets> {
        self.targets.lock().unwrap().take().ok_or_else(|| invalid("the plan's targets were taken"))
    }
}

/// The default folder processor (the mandatory step comes after it).
#[napi]
pub fn default_folder_name(name: String, replace: String) -> String {
    naming::default_folder_name(&name, &replace)
}

/// The default asset processor, for the part before the extension.
#[napi]
pub fn default_asset_name(name: String, replace: String) -> String {
    naming::default_asset_name(&name, &replace)
}

#[napi]
pub fn is_valid_replace_value(value: String) -> bool {
    naming::is_valid_replace_value(&value)
}
