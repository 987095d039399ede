//! What attributes say about the code they sit on: compiled only for tests, behind a `cfg`,
//! or behind a `cfg` that normal builds never set (`loom`, `kani`, `docsrs`), where any crate
//! may be named.

/// The context of a node, from the attributes of the items around it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags {
    /// Test code: `#[cfg(test)]` (or any `cfg` naming `test`), `#[test]`, `#[tokio::test]`, ….
    pub test: bool,
    /// Under some `cfg`.
    pub any_cfg: bool,
    /// Under a `cfg` other than features, targets and the like.
    pub custom_cfg: bool,
    /// Inside a macro invocation's token tree.
    pub token_tree: bool,
    /// Token trees are not read at all (a proc-macro crate's are code for other crates).
    pub no_token_trees: bool,
}

impl Flags {
    pub fn union(self, other: Flags) -> Flags {
        Flags {
            test: self.test || other.test,
            any_cfg: self.any_cfg || other.any_cfg,
            custom_cfg: self.custom_cfg || other.custom_cfg,
            token_tree: self.token_tree || other.token_tree,
            no_token_trees: self.no_token_trees || other.no_token_trees,
        }
    }
}

/// `cfg` names that builds set from the target or the features.
const KNOWN_CFGS: &[&str] = &[
    "all",
    "any",
    "not",
    "test",
    "feature",
    "unix",
    "windows",
    "target_os",
    "target_family",
    "target_arch",
    "target_pointer_width",
    "target_endian",
    "target_env",
    "target_vendor",
    "target_abi",
    "target_has_atomic",
    "target_feature",
    "debug_assertions",
    "panic",
    "proc_macro",
    "overflow_checks",
];

/// The flags an attribute `path(args)` puts on its item.
pub fn attribute_flags(path: &str, args: Option<&str>) -> Flags {
    let mut flags = Flags::default();
    if path == "cfg" {
        flags.any_cfg = true;
        let words = cfg_words(args.unwrap_or(""));
        flags.test = words.iter().any(|w| w.contains("test"));
        // Custom: false in every build that sets no custom cfg (`loom`, not `not(loom)`).
        let mut at = 0;
        flags.custom_cfg = eval(&words, &mut at) == Some(false);
    } else if path.contains("test") || path.ends_with("bench") {
        flags.test = true;
    }
    flags
}

/// Three-valued value of a `cfg` predicate in a normal build: custom names are unset (false),
/// the others unknown (`None`). `words` are its identifiers, `(`/`)` included.
fn eval(words: &[&str], at: &mut usize) -> Option<bool> {
    let word = words.get(*at).copied().unwrap_or("");
    *at += 1;
    let args = if words.get(*at) == Some(&"(") {
        *at += 1;
        let mut args = Vec::new();
        while *at < words.len() && words[*at] != ")" {
            args.push(eval(words, at));
        }
        *at += 1;
        Some(args)
    } else {
        None
    };
    match (word, args) {
        ("all", Some(args)) => {
            if args.contains(&Some(false)) {
                Some(false)
            } else if args.iter().all(|a| *a == Some(true)) {
                Some(true)
            } else {
                None
            }
        }
        ("any", Some(args)) => {
            if args.contains(&Some(true)) {
                Some(true)
            } else if args.iter().all(|a| *a == Some(false)) {
                Some(false)
            } else {
                None
            }
        }
        ("not", Some(args)) => args.first().copied().flatten().map(|v| !v),
        (word, _) if KNOWN_CFGS.contains(&word) => None,
        _ => Some(false),
    }
}

/// The identifiers of a `cfg` predicate and its parentheses, string literals left out.
fn cfg_words(args: &str) -> Vec<&str> {
    let args = args.trim();
    let args = args
        .strip_prefix('(')
        .and_then(|a| a.strip_suffix(')'))
        .unwrap_or(args);
    let mut words = Vec::new();
    let mut in_string = false;
    let mut start = None;
    for (i, ch) in args.char_indices() {
        if in_string {
            in_string = ch != '"';
            continue;
        }
        if ch.is_alphanumeric() || ch == '_' {
            start.get_or_insert(i);
            continue;
        }
        if let Some(s) = start.take() {
            words.push(&args[s..i]);
        }
        if ch == '(' || ch == ')' {
            words.push(&args[i..=i]);
        }
        in_string = ch == '"';
    }
    if let Some(s) = start {
        words.push(&args[s..]);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cfg_flags() {
        let f = attribute_flags("cfg", Some("(all(test, feature = \"x y\"))"));
        assert!(f.test && f.any_cfg && !f.custom_cfg);
        let f = attribute_flags("cfg", Some("(loom)"));
        assert!(!f.test && f.custom_cfg);
        assert!(attribute_flags("tokio::test", None).test);
        assert!(!attribute_flags("inline", None).any_cfg);
        assert!(!attribute_flags("cfg", Some("(not(loom))")).custom_cfg);
        assert!(attribute_flags("cfg", Some("(all(test, loom))")).custom_cfg);
        assert!(!attribute_flags("cfg", Some("(any(loom, feature = \"x\"))")).custom_cfg);
        assert!(attribute_flags("cfg", Some("(all(unix, not(all(not(docsrs)))))")).custom_cfg);
    }
}
