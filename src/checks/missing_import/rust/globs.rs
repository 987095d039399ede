//! What a glob import (`use x::*`) can bring into scope, for the question "is this first path
//! segment a crate, or a module the glob imported?": a first-party module's names (`use
//! super::*` in a test module), the standard library's modules, an enum's variants (nothing a
//! path can start with); anything at all for an external crate's glob.

use std::collections::HashSet;

use super::paths::{Glob, Head, ModPath, Scan};
use super::resolve::Resolver;

/// Modules of `std`, `core` and `alloc` at any depth: all a standard-library glob can bring in
/// that a path may start with.
const STD_MODULES: &[&str] = &[
    "aarch64",
    "alloc",
    "android",
    "any",
    "arch",
    "arm",
    "array",
    "ascii",
    "assert_matches",
    "async_iter",
    "atomic",
    "backtrace",
    "binary_heap",
    "borrow",
    "boxed",
    "bstr",
    "btree_map",
    "btree_set",
    "c_str",
    "cell",
    "char",
    "clone",
    "cmp",
    "collections",
    "consts",
    "convert",
    "darwin",
    "default",
    "env",
    "error",
    "f128",
    "f16",
    "f32",
    "f64",
    "fd",
    "ffi",
    "fmt",
    "freebsd",
    "fs",
    "future",
    "hash",
    "hash_map",
    "hash_set",
    "hint",
    "i128",
    "i16",
    "i32",
    "i64",
    "i8",
    "intrinsics",
    "io",
    "ios",
    "isize",
    "iter",
    "linked_list",
    "linux",
    "macos",
    "marker",
    "mem",
    "mpmc",
    "mpsc",
    "net",
    "num",
    "ops",
    "option",
    "os",
    "os_str",
    "panic",
    "pat",
    "path",
    "pattern",
    "pin",
    "prelude",
    "primitive",
    "process",
    "ptr",
    "random",
    "range",
    "raw",
    "rc",
    "result",
    "rust_2015",
    "rust_2018",
    "rust_2021",
    "rust_2024",
    "simd",
    "slice",
    "str",
    "string",
    "sync",
    "task",
    "thread",
    "time",
    "u128",
    "u16",
    "u32",
    "u64",
    "u8",
    "unix",
    "usize",
    "v1",
    "vec",
    "vec_deque",
    "wasi",
    "wasm32",
    "wasm64",
    "windows",
    "x86",
    "x86_64",
];

/// What the globs of one scope may have imported.
enum Brings {
    /// Anything (an external crate's glob, a module whose names cannot be known).
    Anything,
    /// These names.
    Names(HashSet<String>),
}

/// The names glob imports may have brought into each scope of a file.
pub struct GlobScopes {
    scopes: Vec<Option<Brings>>,
}

impl GlobScopes {
    /// Resolves the globs of every scope of `scan`.
    pub fn new(scan: &Scan<'_>, resolver: &Resolver<'_>) -> GlobScopes {
        let scopes = scan
            .scopes
            .iter()
            .enumerate()
            .map(|(i, scope)| {
                if scope.opaque {
                    return Some(Brings::Anything);
                }
                if scope.globs.is_empty() {
                    return None;
                }
                let mut names = HashSet::new();
                for glob in &scope.globs {
                    match brings(scan, resolver, glob, i) {
                        Brings::Anything => return Some(Brings::Anything),
                        Brings::Names(n) => names.extend(n),
                    }
                }
                Some(Brings::Names(names))
            })
            .collect();
        GlobScopes { scopes }
    }

    /// Whether a glob of `scope` or of a module around it may have brought `name` in.
    pub fn may_bring(&self, scan: &Scan<'_>, scope: usize, name: &str) -> bool {
        let mut at = Some(scope);
        while let Some(i) = at {
            match &self.scopes[i] {
                Some(Brings::Anything) => return true,
                Some(Brings::Names(names)) if names.contains(name) => return true,
                _ => {}
            }
            at = scan.scopes[i].parent;
        }
        false
    }
}

fn brings(scan: &Scan<'_>, resolver: &Resolver<'_>, glob: &Glob<'_>, scope: usize) -> Brings {
    let std_names = || Brings::Names(STD_MODULES.iter().map(|s| (*s).to_string()).collect());
    let last = glob.segs.last().map(|(s, _)| *s);
    // `use Kind::*`, `use self::Kind::*`: an enum's variants, which no path starts with.
    if last.is_some_and(|s| s.starts_with(|c: char| c.is_ascii_uppercase())) {
        return Brings::Names(HashSet::new());
    }
    let path = match glob.head {
        Head::Ident("std" | "core" | "alloc", _) => return std_names(),
        Head::Ident(name, _) if name.starts_with(|c: char| c.is_ascii_uppercase()) => {
            return Brings::Names(HashSet::new());
        }
        // `use module::*` of a module the file declares (2018: relative to the module).
        Head::Ident(name, node) if scan.locals.contains(name) => {
            let mut segs = vec![(name, node)];
            segs.extend(glob.segs.iter().copied());
            ModPath::glob(super::paths::Anchor::SelfMod, segs, scope)
        }
        Head::Crate => ModPath::glob(super::paths::Anchor::Crate, glob.segs.clone(), scope),
        Head::SelfMod => ModPath::glob(super::paths::Anchor::SelfMod, glob.segs.clone(), scope),
        Head::Super => ModPath::glob(super::paths::Anchor::Super(1), glob.segs.clone(), scope),
        _ => return Brings::Anything,
    };
    match resolver.module_names(scan, &path) {
        Some(names) => Brings::Names(names),
        None => Brings::Anything,
    }
}
