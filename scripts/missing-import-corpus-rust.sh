# The Rust half of scripts/missing-import-corpus.sh (sourced; uses its helpers).

# crate NAME VERSION DEST: the published crate, extracted into DEST (downloads are cached).
crate() {
    local name=$1 version=$2 dest=$3 file=$dl/$1-$2.crate
    if [ ! -s "$file" ]; then
        curl -sSfL --retry 4 --retry-delay 3 --retry-all-errors --connect-timeout 20 "https://static.crates.io/crates/$name/$name-$version.crate" -o "$file.tmp" && mv "$file.tmp" "$file" \
            || { echo "  $name $version: download failed" >&2; return 1; }
    fi
    mkdir -p "$dest" && tar -xzf "$file" -C "$dest" --strip-components=1
}

# member NAME VERSION DEST: a crate as its repository holds it (Cargo.toml.orig is the manifest
# the maintainers wrote). The published Cargo.lock locks that one package, not the workspace the
# repository locks, so it is left out here (the published crates below keep theirs).
member() {
    crate "$@" || return 1
    mv "$3/Cargo.toml.orig" "$3/Cargo.toml"
    rm -f "$3/Cargo.lock" "$3/.cargo_vcs_info.json"
}

ripgrep_ws() {
    local ws=$work/rs/ripgrep-ws
    member ripgrep 14.1.1 "$ws" || return 1
    local m
    for m in globset:globset:0.4.15 grep:grep:0.3.2 cli:grep-cli:0.1.11 matcher:grep-matcher:0.1.7 \
        pcre2:grep-pcre2:0.1.8 printer:grep-printer:0.2.2 regex:grep-regex:0.1.13 \
        searcher:grep-searcher:0.1.14 ignore:ignore:0.4.23; do
        IFS=: read -r dir name version <<<"$m"
        member "$name" "$version" "$ws/crates/$dir" || return 1
    done
    git -C "$ws" init -q -b main && commit_all "$ws" "ripgrep 14.1.1"
}

tokio_ws() {
    local ws=$work/rs/tokio-ws
    mkdir -p "$ws"
    # The repository's virtual manifest (members that are published).
    cat >"$ws/Cargo.toml" <<'TOML'
[workspace]
resolver = "2"
members = ["tokio", "tokio-macros", "tokio-test", "tokio-stream", "tokio-util"]

[workspace.lints.rust]
unexpected_cfgs = { level = "warn", check-cfg = ['cfg(fuzzing)', 'cfg(loom)', 'cfg(mio_unsupported_force_poll_poll)', 'cfg(tokio_allow_from_blocking_fd)', 'cfg(tokio_internal_mt_counters)', 'cfg(tokio_no_parking_lot)', 'cfg(tokio_no_tuning_tests)', 'cfg(tokio_taskdump)', 'cfg(tokio_unstable)', 'cfg(target_os, values("cygwin"))'] }
TOML
    member tokio 1.48.0 "$ws/tokio" && member tokio-macros 2.6.0 "$ws/tokio-macros" \
        && member tokio-test 0.4.4 "$ws/tokio-test" && member tokio-stream 0.1.17 "$ws/tokio-stream" \
        && member tokio-util 0.7.16 "$ws/tokio-util" || return 1
    git -C "$ws" init -q -b main && commit_all "$ws" "tokio 1.48.0"
}

clap_ws() {
    local ws=$work/rs/clap-ws
    member clap 4.5.51 "$ws" && member clap_builder 4.5.51 "$ws/clap_builder" \
        && member clap_derive 4.5.49 "$ws/clap_derive" && member clap_lex 0.7.6 "$ws/clap_lex" || return 1
    git -C "$ws" init -q -b main && commit_all "$ws" "clap 4.5.51"
}

serde_ws() {
    local ws=$work/rs/serde-ws
    mkdir -p "$ws"
    cat >"$ws/Cargo.toml" <<'TOML'
[workspace]
members = ["serde", "serde_core", "serde_derive", "serde_derive_internals"]
resolver = "2"

[patch.crates-io]
serde = { path = "serde" }
serde_core = { path = "serde_core" }
serde_derive = { path = "serde_derive" }

[workspace.dependencies]
proc-macro2 = { version = "1.0.74", default-features = false }
quote = { version = "1.0.35", default-features = false }
syn = { version = "2.0.81", default-features = false }
TOML
    member serde 1.0.228 "$ws/serde" && member serde_core 1.0.228 "$ws/serde_core" \
        && member serde_derive 1.0.228 "$ws/serde_derive" \
        && member serde_derive_internals 0.29.1 "$ws/serde_derive_internals" || return 1
    git -C "$ws" init -q -b main && commit_all "$ws" "serde 1.0.228"
}

# published NAME VERSION: the crate as crates.io serves it (normalized manifest, explicit targets).
published() {
    local dest=$work/rs/$1
    crate "$1" "$2" "$dest" || return 1
    git -C "$dest" init -q -b main && commit_all "$dest" "$1 $2"
}

rust_corpus() {
    echo "== Rust: zero findings on pristine releases (scope all)"
    mkdir -p "$work/rs"
    ripgrep_ws && pristine "ripgrep workspace 14.1.1" "$work/rs/ripgrep-ws" || fail=1
    # Two true findings: tokio-util 0.7.16 ships src/sync/tests/, which no `mod` declares.
    tokio_ws && pristine "tokio workspace 1.48.0" "$work/rs/tokio-ws" 2 || fail=1
    clap_ws && pristine "clap workspace 4.5.51" "$work/rs/clap-ws" || fail=1
    serde_ws && pristine "serde workspace 1.0.228" "$work/rs/serde-ws" || fail=1
    local spec
    # lazy_static and scopeguard: edition 2015 (no `edition` key).
    for spec in ripgrep@14.1.1 tokio@1.48.0 rusqlite@0.37.0 rayon@1.11.0 git2@0.20.2 \
        lazy_static@1.5.0 scopeguard@1.2.0; do
        published "${spec%@*}" "${spec#*@}" && pristine "$spec (published)" "$work/rs/${spec%@*}" || fail=1
    done
    echo "== Rust: planted faults"
    rust_plants
}

rust_plants() {
    local rg=$work/rs/ripgrep-ws tk=$work/rs/tokio-ws cl=$work/rs/clap-ws sd=$work/rs/serde-ws
    # Binary reached only through `[[bin]] path = "crates/core/main.rs"` and its modules.
    plant "$rg" crates/core/flags/defs.rs undeclared-crate "hallucinated crate, binary module, use" \
        'use fast_glob_utils::matcher;'
    plant "$rg" crates/core/search.rs undeclared-crate "undeclared crate in an expression (binary)" \
        'fn searched_at() -> i64 { chrono::Utc::now().timestamp() }'
    plant "$rg" crates/core/haystack.rs undeclared-crate "dev-dependency in binary code" \
        'fn walk_all() { for e in walkdir::WalkDir::new(".") { let _ = e; } }'
    plant "$rg" crates/core/main.rs missing-module "missing crate:: module (binary)" \
        'use crate::flags::parse_utils::split_args;'
    # Tests: autotests = false, one [[test]] whose modules are tests/*.rs.
    plant "$rg" tests/util.rs undeclared-crate "hallucinated crate in a test module" \
        'pub fn tmp() -> tempfile_helpers::Dir { tempfile_helpers::Dir::new() }'
    plant "$rg" tests/misc.rs missing-module "missing crate:: module in a test module" \
        'use crate::fixtures::sherlock_text;'
    plant "$rg" tests/new_suite.rs unreached-file "new test file under autotests = false" \
        '#[test] fn it_works() { assert!(true); }'
    # Library members.
    plant "$rg" crates/ignore/src/walk.rs undeclared-crate "undeclared crate as a type" \
        'pub fn started() -> Option<chrono::DateTime<chrono::Utc>> { None }'
    plant "$rg" crates/ignore/src/dir.rs undeclared-crate "crate of another member only" \
        'fn escape(s: &str) -> String { regex::escape(s) }'
    plant "$rg" crates/globset/src/lib.rs undeclared-crate "undeclared crate in a trait bound" \
        'pub fn shown<T: itertools::Itertools>(_t: T) {}'
    plant "$rg" crates/cli/src/pattern.rs undeclared-crate "macro invocation of an undeclared crate" \
        'fn stats_json() -> String { serde_json::json!({"matches": 1}).to_string() }'
    plant "$rg" crates/searcher/src/lib.rs undeclared-crate "dev-dependency in library code" \
        'pub fn counted() -> usize { regex::Regex::new("a").unwrap().captures_len() }'
    plant "$rg" crates/regex/src/lib.rs undeclared-crate "attribute of an undeclared crate" \
        '#[async_trait::async_trait] pub trait Fetch { async fn fetch(&self); }'
    plant "$rg" crates/matcher/src/helpers.rs unreached-file "new module file never declared" \
        'pub fn is_word(b: u8) -> bool { b.is_ascii_alphanumeric() }'
    plant "$rg" build.rs undeclared-crate "normal dependency in build.rs" \
        'fn version() -> String { anyhow::anyhow!("v").to_string() }'
    plant "$rg" crates/regex/src/matcher.rs undeclared-crate "pattern path of an undeclared crate" \
        'fn again(e: i32) -> bool { match e { nix_errno::EAGAIN => true, _ => false } }'
    plant "$rg" crates/core/flags/hiargs.rs undeclared-crate "undeclared crate in a test module of a binary" \
        '#[cfg(test)] mod planted { use super::*; #[test] fn t() { pretty_assertions::assert_eq!(1, 1); } }'
    # tokio: `workspace = true`, cfg macros, globs.
    plant "$tk" tokio/src/sync/mutex.rs undeclared-crate "undeclared crate in a glob-importing test module" \
        '#[cfg(test)] mod planted_tests { use super::*; #[test] fn t() { let _ = lru_cache::LruCache::<u8, u8>::new(1); } }'
    plant "$tk" tokio/src/time/instant.rs undeclared-crate "hallucinated crate in an expression (library)" \
        'pub fn wall_clock() -> i64 { chrono::Utc::now().timestamp() }'
    plant "$tk" tokio-util/src/either.rs undeclared-crate "dev-dependency of a member in its library" \
        'pub fn temp() -> std::io::Result<tempfile::TempDir> { tempfile::tempdir() }'
    plant "$tk" tokio-util/src/io/mod.rs missing-module "missing crate:: module (library)" \
        'pub use crate::either::future_ext::EitherFuture;'
    plant "$tk" tokio/src/lib.rs missing-module "missing crate:: module, root with cfg_*! macros" \
        'pub use crate::sync_utils::Notify;'
    plant "$tk" tokio/src/net/mod.rs missing-module "missing self:: module beside cfg_*! macros" \
        'use self::tcp_helpers::TcpExt;'
    plant "$tk" tokio/tests/io_read.rs undeclared-crate "undeclared crate in an integration test" \
        '#[tokio::test] async fn planted() { let _ = assert_matches::assert_matches!(1, 1); }'
    plant "$tk" tokio-util/tests/planted.rs undeclared-crate "new test using an undeclared crate" \
        '#[test] fn t() { let _ = proptest_derive_utils::any(); }'
    # clap: [[example]] with paths, `workspace = true`.
    plant "$cl" examples/tutorial_builder/01_quick.rs undeclared-crate "undeclared crate in an [[example]] path" \
        'fn color() -> bool { atty::is(atty::Stream::Stdout) }'
    plant "$cl" clap_builder/src/util/mod.rs undeclared-crate "hallucinated crate in a library module" \
        'pub(crate) fn width() -> usize { terminal_size_utils::width() }'
    plant "$cl" clap_builder/src/builder/command.rs missing-module "missing super:: module" \
        'use super::arg_helpers::ArgExt;'
    # serde: `[lib] path`, `#[path]` modules, a proc macro.
    plant "$tk" tokio/src/process/unix/mod.rs undeclared-crate "undeclared crate in a #[path] module" \
        'fn raise_child() { nix_signal::raise(nix_signal::SIGCHLD); }'
    plant "$sd" serde_derive/src/de.rs undeclared-crate "dev-dependency in a proc macro's library code" \
        'fn planted() -> serde::de::IgnoredAny { serde::de::IgnoredAny }'
    # New dependencies: declared by the agent too (the slopsquatting case).
    plant_edit "$rg" Cargo.toml new-dependency "crate added to [dependencies]" \
        'sub("Cargo.toml", "[dependencies]\n", "[dependencies]\nfast-glob-utils = \"0.3\"\n")'
    plant_edit "$work/rs/ripgrep" crates/core/main.rs unlocked-dependency "declared and used, not in Cargo.lock" \
        'sub("Cargo.toml", "[dependencies.anyhow]\n", "[dependencies.fast-glob-utils]\nversion = \"0.3\"\n\n[dependencies.anyhow]\n")
add("crates/core/main.rs", "fn planted() { fast_glob_utils::init(); }")'
    plant_edit "$tk" Cargo.toml new-dependency "crate added to [workspace.dependencies]" \
        'add("Cargo.toml", "[workspace.dependencies]\ntokio-metrics-utils = \"0.4\"")'
    plant "$sd" serde/build.rs undeclared-crate "undeclared crate in build.rs" \
        'fn rustc() -> Option<String> { rustc_version::version().ok().map(|v| v.to_string()) }'
    # Edition 2015: paths in code reach the dependencies (the extern prelude), as later.
    plant "$work/rs/scopeguard" src/lib.rs undeclared-crate "edition 2015: undeclared crate in an expression" \
        'pub fn planted() -> u64 { fxhash::hash64(&1u8) }'
}
