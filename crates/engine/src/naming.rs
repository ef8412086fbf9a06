//! Names: which local paths are skipped, how local names become AEM node
//! names, and which target names AEM refuses (`docs/compat.md §5.2, §6, §7`).

/// Characters replaced in every node name, whatever the processor returned.
pub const MANDATORY_CHARS: &[char] = &['/', ':', '[', ']', '|', '*', '\\'];

/// Characters (besides whitespace) the default folder processor replaces.
pub const FOLDER_CHARS: &[char] = &['.', '%', ';', '#', '+', '?', '^', '{', '}', '"', '&'];

/// Characters the default asset processor replaces.
pub const ASSET_CHARS: &[char] = &['#', '%', '{', '}', '?', '&'];

/// Characters initiate refuses in a target name; such files fail before any request.
pub const UNSUPPORTED_CHARS: &[char] = &['[', ']', '{', '}', '&', ':', '\\', '?', '#', '|', '*', '%'];

/// The default replacement value.
pub const DEFAULT_REPLACE_VALUE: &str = "-";

fn replace_chars(name: &str, replace: &str, hit: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if hit(c) {
            out.push_str(replace);
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether a replace value may be used: it must not contain a mandatory character.
pub fn is_valid_replace_value(value: &str) -> bool {
    !value.chars().any(|c| MANDATORY_CHARS.contains(&c))
}

/// The mandatory step every processed name passes (not lower-cased).
pub fn mandatory(name: &str, replace: &str) -> String {
    replace_chars(name, replace, |c| MANDATORY_CHARS.contains(&c))
}

/// The default folder processor: `. % ; # + ? ^ { } " &` and whitespace
/// replaced, then everything lower-cased (the replace value too).
pub fn default_folder_name(name: &str, replace: &str) -> String {
    replace_chars(name, replace, |c| c.is_whitespace() || FOLDER_CHARS.contains(&c)).to_lowercase()
}

/// The default asset processor: `# % { } ? &` replaced; case and spaces kept.
pub fn default_asset_name(name: &str, replace: &str) -> String {
    replace_chars(name, replace, |c| ASSET_CHARS.contains(&c))
}

/// A local file name as a node name under the default asset processor (run
/// with `processor_replace`): the part before the extension processed, the
/// whole passed through [`mandatory`] with `replace`, the extension kept.
pub fn default_asset_node_name(file_name: &str, processor_replace: &str, replace: &str) -> String {
    let (stem, ext) = split_extension(file_name);
    let mut name = mandatory(&default_asset_name(stem, processor_replace), replace);
    name.push_str(ext);
    name
}

/// A local directory name as a node name under the default folder processor.
pub fn default_folder_node_name(dir_name: &str, processor_replace: &str, replace: &str) -> String {
    mandatory(&default_folder_name(dir_name, processor_replace), replace)
}

/// Splits a file name like Node's `path.parse`: the extension starts at the
/// last `.` that is not the first character.
pub fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 => name.split_at(i),
        _ => (name, ""),
    }
}

/// A folder node name with the default processor and the mandatory step.
pub fn clean_folder_name(name: &str, replace: &str) -> String {
    default_folder_node_name(name, replace, replace)
}

/// An asset node name with the default processor: only the part before the
/// extension is processed; the extension is kept as is.
pub fn clean_asset_name(name: &str, replace: &str) -> String {
    default_asset_node_name(name, replace, replace)
}

/// How one kind of local name becomes a node name's processed part.
#[derive(Clone, Debug)]
pub enum Processor {
    /// The default processor, run with the replace value it reads.
    Default { replace: String },
    /// What a custom processor returned, by the local name it was given (a
    /// directory's name, or a file name's part before the extension). A name
    /// it was not asked about passes unchanged.
    Given(std::collections::HashMap<String, String>),
}

/// The node names of a tree (`docs/compat.md §6`): each processor's output
/// passes the mandatory step with `replace`; an asset keeps its extension.
#[derive(Clone, Debug)]
pub struct Naming {
    pub folders: Processor,
    pub assets: Processor,
    /// The mandatory step's replace value.
    pub replace: String,
}

impl Naming {
    /// The default processors, both reading `replace`.
    pub fn defaults(replace: &str) -> Naming {
        let default = || Processor::Default { replace: replace.to_string() };
        Naming { folders: default(), assets: default(), replace: replace.to_string() }
    }

    /// The node name of a local directory called `dir_name`.
    pub fn folder(&self, dir_name: &str) -> String {
        match &self.folders {
            Processor::Default { replace } => default_folder_node_name(dir_name, replace, &self.replace),
            Processor::Given(names) => mandatory(names.get(dir_name).map_or(dir_name, String::as_str), &self.replace),
        }
    }

    /// The node name of a local file called `file_name`.
    pub fn asset(&self, file_name: &str) -> String {
        match &self.assets {
            Processor::Default { replace } => default_asset_node_name(file_name, replace, &self.replace),
            Processor::Given(names) => {
                let (stem, ext) = split_extension(file_name);
                let mut name = mandatory(names.get(stem).map_or(stem, String::as_str), &self.replace);
                name.push_str(ext);
                name
            }
        }
    }
}

/// Whether a local path is skipped by the walk (docs/compat.md §5.2).
pub fn is_skipped(path: &str) -> bool {
    let normalised = path.replace('\\', "/");
    let normalised = normalised.strip_suffix('/').unwrap_or(&normalised);
    if normalised.is_empty() || normalised == "/" {
        return false;
    }
    if normalised.starts_with("/~") || normalised.starts_with("/.") {
        return true;
    }
    let base = normalised.rsplit('/').next().unwrap_or(normalised);
    if base.starts_with('.') || base.starts_with('~') || base.starts_with("TestFile") {
        return true;
    }
    let lower = base.to_lowercase();
    lower.ends_with(".tmp")
        || lower.ends_with(".~tmp")
        || lower.starts_with("desktop.ini")
        || lower.starts_with("thumbs.db")
        || lower == "adobe bridge cache.bc"
        || lower == "adobe bridge cache.bct"
}

/// The reason a target name cannot be uploaded, if it cannot.
pub fn unsupported_name(name: &str) -> Option<String> {
    name.chars()
        .any(|c| UNSUPPORTED_CHARS.contains(&c))
        .then(|| format!("File cannot be uploaded: Filename '{name}' has unsupported characters"))
}

/// Why a target URL could land outside the folder it names, if it could:
/// a path segment that is (or decodes to) `.` or `..`, an encoded `/` or
/// `\`, or a control character such as NUL. URL parsers remove dot segments
/// silently (`/dam/a/../../etc` becomes `/etc`), so this looks at the URL as
/// it was given, before any parsing.
pub fn escaping_target(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest.find(['/', '\\']).map_or("", |i| &rest[i..]));
    let path = rest.split(['?', '#']).next().unwrap_or(rest);
    for raw in path.split(['/', '\\']).skip(1) {
        // Most segments are plain ASCII: decoding them changes nothing.
        if raw.bytes().all(|b| b.is_ascii_graphic() && b != b'%') && raw != "." && raw != ".." {
            continue;
        }
        let segment = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
        let reason = if segment == "." || segment == ".." {
            "a '.' or '..' segment"
        } else if segment.contains(['/', '\\']) {
            "an encoded '/' or '\\'"
        } else if segment.chars().any(char::is_control) || raw.chars().any(char::is_control) {
            "a control character"
        } else {
            continue;
        };
        let shown: String = path.chars().map(|c| if c.is_control() { '\u{fffd}' } else { c }).collect();
        return Some(format!("File cannot be uploaded: target path '{shown}' has {reason}"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_match_the_compat_table() {
        assert_eq!(clean_folder_name("My Dir #1", "-"), "my-dir--1");
        assert_eq!(clean_folder_name("Photos (2024)", "-"), "photos-(2024)");
        assert_eq!(clean_folder_name("a,b=c@d", "-"), "a,b=c@d");
        assert_eq!(clean_folder_name("R&D \"Q1\"", "-"), "r-d--q1-");
        assert_eq!(clean_folder_name("My Dir", "X"), "myxdir");
        assert_eq!(clean_folder_name("A:B", "X"), "aXb");
        assert_eq!(clean_folder_name("Ünïcode", "-"), "ünïcode");
    }

    #[test]
    fn asset_names_match_the_compat_table() {
        assert_eq!(clean_asset_name("a b#c%d{e}f?g&h.JPG", "-"), "a b-c-d-e-f-g-h.JPG");
        assert_eq!(clean_asset_name("x[1]:y|z*w.jpg", "-"), "x-1--y-z-w.jpg");
        assert_eq!(clean_asset_name("A #b:c.d.jpg", "-"), "A -b-c.d.jpg");
        assert_eq!(clean_asset_name("archive.tar.gz", "-"), "archive.tar.gz");
        assert_eq!(clean_asset_name("name.we#ird", "-"), "name.we#ird");
        assert!(unsupported_name("name.we#ird").is_some());
        assert_eq!(clean_asset_name(".hidden", "-"), ".hidden");
    }

    #[test]
    fn extension_split_is_like_node_path_parse() {
        assert_eq!(split_extension("a.b.c"), ("a.b", ".c"));
        assert_eq!(split_extension(".bashrc"), (".bashrc", ""));
        assert_eq!(split_extension("noext"), ("noext", ""));
        assert_eq!(split_extension("trailing."), ("trailing", "."));
    }

    #[test]
    fn skip_rules() {
        for skipped in [
            "/a/.git",
            "/a/~lock",
            "/a/TestFile1.txt",
            "/a/x.tmp",
            "/a/x.TMP",
            "/a/x.~tmp",
            "/a/desktop.ini",
            "/a/Thumbs.db",
            "/a/Adobe Bridge Cache.bc",
            "/a/adobe bridge cache.BCT",
            "/.hidden/x",
            "/~user/x",
            "C:\\dir\\.DS_Store",
            ".",
        ] {
            assert!(is_skipped(skipped), "{skipped}");
        }
        for kept in ["/", "/a/b.jpg", "/a/testfile.txt", "/a/b.tmp.jpg", "/a/x~y", "/a/Adobe Bridge Cache.bcx", "/a/b/"]
        {
            assert!(!is_skipped(kept), "{kept}");
        }
    }

    #[test]
    fn replace_values() {
        assert!(is_valid_replace_value("-"));
        assert!(is_valid_replace_value("."));
        assert!(is_valid_replace_value("#"));
        for bad in ["/", ":", "[", "]", "|", "*", "\\", "a:b"] {
            assert!(!is_valid_replace_value(bad), "{bad}");
        }
    }

    #[test]
    fn targets_that_could_escape_their_folder() {
        for bad in [
            "http://h/content/dam/f/..",
            "http://h/content/dam/f/../../etc/passwd",
            "http://h/content/dam/f/%2e%2E/x.jpg",
            "http://h/content/dam/f/./x.jpg",
            "http://h/content/dam/f/..%2Fx.jpg",
            "http://h/content/dam/f/%2Fetc%2Fpasswd",
            "http://h/content/dam/f/a%5C..%5Cb",
            "http://h/content/dam/f\\..\\x",
            "http://h/content/dam/f/x%00.jpg",
            "http://h/content/dam/f/x\u{0}.jpg",
            "http://h/content/dam/f/line%0Abreak.jpg",
        ] {
            assert!(escaping_target(bad).is_some(), "{bad}");
        }
        for good in [
            "http://h/content/dam/f/x.jpg",
            "http://h/content/dam/f/..x.jpg",
            "http://h/content/dam/f/x..jpg",
            "http://h/content/dam/f/%E2%9C%93.jpg",
            "http://h/content/dam/f/a%20b.jpg?x=../..",
            "http://h:4502/content/dam/f/x.jpg#..",
        ] {
            assert!(escaping_target(good).is_none(), "{good}");
        }
        let message = escaping_target("http://h/dam/x%00y").unwrap();
        assert!(!message.contains('\0'), "{message}");
    }
}
