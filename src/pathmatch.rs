//! Path patterns in git's gitignore dialect, matched exactly as `git check-ignore --no-index` does.
//!
//! This is a port of git's `wildmatch.c` and of the parts of `dir.c` that parse and apply exclude
//! patterns (`parse_path_pattern`, `match_basename`, `match_pathname`, `prep_exclude`). Like git it
//! works on bytes: `?` matches one byte (not one UTF-8 character) and the `[:class:]` names use
//! git's own locale-free ASCII tables.
//!
//! Decisions where a pattern list is not a file:
//! - Each item is one line of a .gitignore file. An item containing a NUL byte or a `\n` is
//!   rejected, since no .gitignore line can hold it; everything else is accepted, as git never
//!   rejects a pattern (a malformed one, such as an unclosed `[`, just never matches).
//! - As git does for lines, a UTF-8 byte order mark at the start of the first item and one
//!   trailing `\r` of each item are dropped, and items that are empty (after trimming) or start
//!   with `#` are skipped.
//! - Paths are matched case-sensitively, as git does with `core.ignoreCase=false`.

use std::fmt;

/// One compiled list of patterns (like one .gitignore file): the last matching pattern wins; `!` negates.
#[derive(Debug, Clone)]
pub struct PatternSet {
    patterns: Vec<Pattern>,
}

/// A pattern that cannot be a line of a .gitignore file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    /// The pattern as given.
    pub pattern: String,
    /// Why it cannot be a pattern.
    pub message: String,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid path pattern {:?}: {}",
            self.pattern, self.message
        )
    }
}

impl std::error::Error for PatternError {}

impl PatternSet {
    /// Compiles patterns, in order. Blank patterns and `#` comments are ignored like in a .gitignore file.
    ///
    /// # Errors
    /// When a pattern contains a NUL byte or a line break, which no .gitignore line can hold.
    pub fn new<I, S>(patterns: I) -> Result<PatternSet, PatternError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut compiled = Vec::new();
        for (index, line) in patterns.into_iter().enumerate() {
            if let Some(pattern) = Pattern::parse(line.as_ref(), index == 0)? {
                compiled.push(pattern);
            }
        }
        Ok(PatternSet { patterns: compiled })
    }

    /// Whether `path` (a repository-relative path of a FILE, `/`-separated, no leading `/`) is matched,
    /// i.e. whether git would report it as ignored by this list. A file is matched when the file itself
    /// or any of its parent directories is matched (the last matching pattern deciding for each), and,
    /// as in git, a file inside an excluded directory cannot be re-included by a later `!` pattern.
    ///
    /// The path must be normalized (no empty, `.` or `..` components); a path containing a NUL
    /// byte never matches, as git cannot store one.
    #[must_use]
    pub fn is_match(&self, path: &str) -> bool {
        self.deciding_pattern(path).is_some()
    }

    /// Whether the whole name `path` is matched, without git's rule that a file below a matched
    /// directory is matched too: for names that are not file paths, such as branch names.
    #[must_use]
    pub fn is_match_whole(&self, path: &str) -> bool {
        let bytes = path.as_bytes();
        if self.patterns.is_empty() || bytes.is_empty() || bytes.contains(&0) {
            return false;
        }
        let basename_start = path.rfind('/').map_or(0, |i| i + 1);
        self.last_match(bytes, basename_start, false)
            .is_some_and(|p| !p.negative)
    }

    /// The original text of the pattern that decided a positive match (for messages), if any.
    #[must_use]
    pub fn matching_pattern(&self, path: &str) -> Option<&str> {
        self.deciding_pattern(path).map(|p| p.original.as_str())
    }

    /// Whether the list holds no pattern at all (only blank lines and comments count as none).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Mirrors `prep_exclude` followed by `last_matching_pattern_from_list`: leading directories are
    /// checked top-down and the first excluded one settles the answer, which is why a later `!`
    /// cannot re-include a file below it.
    fn deciding_pattern(&self, path: &str) -> Option<&Pattern> {
        let path = path.as_bytes();
        if self.patterns.is_empty() || path.is_empty() || path.contains(&0) {
            return None;
        }
        let mut component_start = 0;
        for (slash, _) in path.iter().enumerate().filter(|&(_, &b)| b == b'/') {
            let dir = &path[..slash];
            if let Some(p) = self.last_match(dir, component_start, true)
                && !p.negative
            {
                return Some(p);
            }
            component_start = slash + 1;
        }
        self.last_match(path, component_start, false)
            .filter(|p| !p.negative)
    }

    fn last_match(&self, path: &[u8], basename_start: usize, is_dir: bool) -> Option<&Pattern> {
        let basename = &path[basename_start..];
        self.patterns
            .iter()
            .rev()
            .find(|p| p.matches(path, basename, is_dir))
    }
}

/// One parsed line, in the shape git's `struct path_pattern` gives it.
#[derive(Debug, Clone)]
struct Pattern {
    original: String,
    /// The pattern without `!`, the trailing `/` and, when anchored, the leading `/`.
    body: Box<[u8]>,
    /// Length of the wildcard-free head of `body` (git's `nowildcardlen`).
    literal_len: usize,
    negative: bool,
    must_be_dir: bool,
    strategy: Strategy,
}

/// How `body` is compared, settled once from the flags git derives when it parses a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    /// No `/` and no wildcard: the last path component must equal `body`, at any depth.
    BasenameEquals,
    /// No `/`, and `*` then a literal: the last component must end with `body[1..]`.
    BasenameEndsWith,
    /// No `/`: the last component must match `body` (git's `match_basename`).
    BasenameGlob,
    /// Has a `/`, so anchored at the root: the whole path must match (git's `match_pathname`).
    Pathname,
}

impl Pattern {
    fn parse(line: &str, first: bool) -> Result<Option<Pattern>, PatternError> {
        check_one_line(line)?;
        let mut text = if first {
            line.strip_prefix('\u{feff}').unwrap_or(line)
        } else {
            line
        };
        // git recognises comments and empty lines before it strips `\r` and trailing spaces.
        if text.is_empty() || text.starts_with('#') {
            return Ok(None);
        }
        text = trim_trailing_spaces(text.strip_suffix('\r').unwrap_or(text));
        // git keeps an empty pattern, but it can never match a non-empty basename.
        if text.is_empty() {
            return Ok(None);
        }
        let (negative, text) = match text.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (must_be_dir, mut body) = match text.strip_suffix('/') {
            Some(rest) => (true, rest.as_bytes()),
            None => (false, text.as_bytes()),
        };
        let mut literal_len = body
            .iter()
            .position(|&b| is_glob_special(b))
            .unwrap_or(body.len());
        let strategy = if body.contains(&b'/') {
            Strategy::Pathname
        } else if literal_len == body.len() {
            Strategy::BasenameEquals
        } else if body[0] == b'*' && !body[1..].iter().any(|&b| is_glob_special(b)) {
            Strategy::BasenameEndsWith
        } else {
            Strategy::BasenameGlob
        };
        if strategy == Strategy::Pathname && body[0] == b'/' {
            body = &body[1..];
            literal_len -= 1;
        }
        Ok(Some(Pattern {
            original: line.to_owned(),
            body: body.into(),
            literal_len,
            negative,
            must_be_dir,
            strategy,
        }))
    }

    fn matches(&self, path: &[u8], basename: &[u8], is_dir: bool) -> bool {
        if self.must_be_dir && !is_dir {
            return false;
        }
        // The basename fast paths agree with wildmatch, as a basename has no `/`.
        match self.strategy {
            Strategy::BasenameEquals => basename == &*self.body,
            Strategy::BasenameEndsWith => basename.ends_with(&self.body[1..]),
            Strategy::BasenameGlob => wildmatch(&self.body, basename, false),
            Strategy::Pathname => self.matches_pathname(path),
        }
    }

    /// git's `match_pathname`. Splitting off the literal head is not a pure optimisation: the
    /// rest is matched as a pattern of its own, so in `foo**/bar` the `**/` counts as leading and
    /// crosses directories (git matches `foo/x/bar` and `foox/y/bar`); we do the same.
    fn matches_pathname(&self, path: &[u8]) -> bool {
        if path.is_empty() {
            return false;
        }
        let n = self.literal_len;
        if n == 0 {
            return wildmatch(&self.body, path, true);
        }
        if n > path.len() || path[..n] != self.body[..n] {
            return false;
        }
        if n == self.body.len() && n == path.len() {
            return true;
        }
        wildmatch(&self.body[n..], &path[n..], true)
    }
}

/// Why a pattern written in a configuration file cannot mean what its author meant: git accepts
/// it (and skips it, or never matches with it), which would silently turn a rule off or leave a
/// sensitive path unguarded. `Ok` for every pattern that can match some path.
///
/// # Errors
/// A message saying what is wrong: empty or blank, a comment, `!` or `/` alone, an unclosed
/// `[`, an unknown `[:class:]`, a trailing unescaped `\`, a `.`/`..` component (paths are
/// normalized, so it never matches), or a NUL byte or line break.
pub fn lint(pattern: &str) -> Result<(), String> {
    check_one_line(pattern).map_err(|e| e.message)?;
    let text = trim_trailing_spaces(pattern.strip_suffix('\r').unwrap_or(pattern));
    if text.trim().is_empty() {
        return Err("empty pattern: it matches no path".into());
    }
    if text.starts_with('#') {
        return Err(
            "starts with `#`, which makes it a comment; write `\\#` for a literal `#`".into(),
        );
    }
    let body = text.strip_prefix('!').unwrap_or(text);
    let body = body.strip_suffix('/').unwrap_or(body);
    if body.trim_matches('/').is_empty() {
        return Err("empty pattern once `!` and `/` are taken off: it matches no path".into());
    }
    if body
        .split('/')
        .any(|component| component == "." || component == "..")
    {
        return Err(
            "has a `./` or `..` component; patterns match repository-relative paths \
                    without them"
                .into(),
        );
    }
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if i + 1 == bytes.len() => {
                return Err("ends with an unescaped backslash: it matches no path".into());
            }
            b'\\' => i += 1,
            b'[' => i = bracket_end(bytes, i)?,
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// The index of the `]` closing the bracket expression at `open`, parsed as [`bracket`] does.
fn bracket_end(p: &[u8], open: usize) -> Result<usize, String> {
    let unclosed =
        || "has an unclosed `[`: it matches no path; write `\\[` for a literal `[`".to_string();
    let mut pi = open + 1;
    if matches!(at(p, pi), b'!' | b'^') {
        pi += 1;
    }
    // A `]` right after `[`, `[!` or `[^` is a member.
    let mut first = true;
    loop {
        match at(p, pi) {
            0 => return Err(unclosed()),
            b']' if !first => return Ok(pi),
            b'\\' => {
                pi += 1;
                if at(p, pi) == 0 {
                    return Err(unclosed());
                }
            }
            b'[' if at(p, pi + 1) == b':' => {
                let name_start = pi + 2;
                let Some(offset) = p[name_start..].iter().position(|&b| b == b']') else {
                    return Err(unclosed());
                };
                let close = name_start + offset;
                if close > name_start && p[close - 1] == b':' {
                    let name = &p[name_start..close - 1];
                    if posix_class(p, pi, b'a').is_err() {
                        return Err(format!(
                            "has an unknown character class `[:{}:]`: it matches no path",
                            String::from_utf8_lossy(name)
                        ));
                    }
                    pi = close;
                }
            }
            _ => {}
        }
        first = false;
        pi += 1;
    }
}

/// Rejects what no line of a .gitignore file can hold; git itself never rejects a pattern.
fn check_one_line(line: &str) -> Result<(), PatternError> {
    let what = match line.bytes().find(|&b| b == 0 || b == b'\n') {
        None => return Ok(()),
        Some(0) => "a NUL byte",
        Some(_) => "a line break",
    };
    Err(PatternError {
        pattern: line.to_owned(),
        message: format!("contains {what}; a pattern is one line of a .gitignore file"),
    })
}

/// git's `trim_trailing_spaces`: only spaces, and a backslash protects the character after it.
fn trim_trailing_spaces(text: &str) -> &str {
    let bytes = text.as_bytes();
    let mut last_space = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' => last_space = last_space.or(Some(i)),
            b'\\' => {
                i += 1;
                if i == bytes.len() {
                    return text;
                }
                last_space = None;
            }
            _ => last_space = None,
        }
        i += 1;
    }
    last_space.map_or(text, |end| &text[..end])
}

fn is_glob_special(b: u8) -> bool {
    matches!(b, b'*' | b'?' | b'[' | b'\\')
}

/// Result codes of git's `dowild`; the two aborts let a `*` stop retrying early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wild {
    Match,
    NoMatch,
    AbortAll,
    AbortToStarStar,
}

/// git's `wildmatch(pattern, text, pathname ? WM_PATHNAME : 0)`, case-sensitive.
fn wildmatch(pattern: &[u8], text: &[u8], pathname: bool) -> bool {
    dowild(pattern, text, pathname) == Wild::Match
}

/// Byte `i` of `s`, or 0 past the end: git walks NUL-terminated strings and several of its
/// decisions read that terminator, so reading it the same way keeps the port faithful.
fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

/// git's `dowild`. The start of `p` matters: a `**` counts as a whole component when it is at
/// the start of the (sub)pattern being matched.
fn dowild(p: &[u8], text: &[u8], pathname: bool) -> Wild {
    let (mut pi, mut ti) = (0, 0);
    while pi < p.len() {
        let p_ch = p[pi];
        let t_ch = at(text, ti);
        if t_ch == 0 && p_ch != b'*' {
            return Wild::AbortAll;
        }
        match p_ch {
            b'\\' => {
                // A trailing backslash compares with the terminator and so fails.
                pi += 1;
                if t_ch != at(p, pi) {
                    return Wild::NoMatch;
                }
            }
            b'?' if pathname && t_ch == b'/' => return Wild::NoMatch,
            b'?' => {}
            b'*' => match star(p, pi, text, ti, pathname) {
                Ok((next_p, next_t)) => (pi, ti) = (next_p, next_t),
                Err(result) => return result,
            },
            b'[' => match bracket(p, pi, t_ch, pathname) {
                Ok(close) => pi = close,
                Err(result) => return result,
            },
            _ if t_ch != p_ch => return Wild::NoMatch,
            _ => {}
        }
        pi += 1;
        ti += 1;
    }
    if ti < text.len() {
        Wild::NoMatch
    } else {
        Wild::Match
    }
}

/// The `*` case of `dowild` for the run of stars at `p[first]`. `Ok` resumes the main loop at the
/// given positions (it then steps over the `/` both point at); `Err` is the final result.
fn star(
    p: &[u8],
    first: usize,
    text: &[u8],
    ti: usize,
    pathname: bool,
) -> Result<(usize, usize), Wild> {
    let mut pi = first + 1;
    let match_slash = if at(p, pi) == b'*' {
        while at(p, pi) == b'*' {
            pi += 1;
        }
        let next = at(p, pi);
        let whole_component = (first == 0 || p[first - 1] == b'/')
            && (next == 0 || next == b'/' || (next == b'\\' && at(p, pi + 1) == b'/'));
        if !pathname {
            true
        } else if whole_component {
            // `**/` may match no directory at all: try the rest of the pattern right here.
            if next == b'/' && dowild(&p[pi + 1..], &text[ti..], pathname) == Wild::Match {
                return Err(Wild::Match);
            }
            true
        } else {
            false
        }
    } else {
        !pathname
    };
    let rest = &text[ti..];
    if pi >= p.len() {
        let crosses = !match_slash && rest.contains(&b'/');
        return Err(if crosses { Wild::NoMatch } else { Wild::Match });
    }
    if !match_slash && p[pi] == b'/' {
        // A single `*` before `/` eats exactly the rest of this component.
        return match rest.iter().position(|&b| b == b'/') {
            Some(offset) => Ok((pi, ti + offset)),
            None => Err(Wild::NoMatch),
        };
    }
    Err(star_scan(&p[pi..], text, ti, match_slash, pathname))
}

/// Tries the pattern after a `*` at each later text position, like git's `while (1)` loop.
fn star_scan(p: &[u8], text: &[u8], mut ti: usize, match_slash: bool, pathname: bool) -> Wild {
    let mut t_ch = at(text, ti);
    while t_ch != 0 {
        if !is_glob_special(p[0]) {
            // Skip straight to the next occurrence of the literal that must follow the star.
            loop {
                t_ch = at(text, ti);
                if t_ch == 0 || t_ch == p[0] || (!match_slash && t_ch == b'/') {
                    break;
                }
                ti += 1;
            }
            if t_ch != p[0] {
                return Wild::NoMatch;
            }
        }
        let matched = dowild(p, &text[ti..], pathname);
        if matched != Wild::NoMatch {
            if !match_slash || matched != Wild::AbortToStarStar {
                return matched;
            }
        } else if !match_slash && t_ch == b'/' {
            return Wild::AbortToStarStar;
        }
        ti += 1;
        t_ch = at(text, ti);
    }
    Wild::AbortAll
}

/// The `[` case of `dowild` for the expression opening at `p[open]`. `Ok` is the index of its
/// closing `]`. A `]` right after `[`, `[!` or `[^` is a member, not the end.
fn bracket(p: &[u8], open: usize, t_ch: u8, pathname: bool) -> Result<usize, Wild> {
    let mut pi = open + 1;
    let mut p_ch = at(p, pi);
    let negated = p_ch == b'!' || p_ch == b'^';
    if negated {
        pi += 1;
        p_ch = at(p, pi);
    }
    let (mut prev_ch, mut matched) = (0u8, false);
    loop {
        if p_ch == 0 {
            return Err(Wild::AbortAll);
        }
        if p_ch == b'\\' {
            pi += 1;
            p_ch = at(p, pi);
            if p_ch == 0 {
                return Err(Wild::AbortAll);
            }
            matched |= t_ch == p_ch;
        } else if p_ch == b'-' && prev_ch != 0 && at(p, pi + 1) != 0 && at(p, pi + 1) != b']' {
            pi += 1;
            p_ch = at(p, pi);
            if p_ch == b'\\' {
                pi += 1;
                p_ch = at(p, pi);
                if p_ch == 0 {
                    return Err(Wild::AbortAll);
                }
            }
            matched |= prev_ch <= t_ch && t_ch <= p_ch;
            // A range end cannot start another range.
            p_ch = 0;
        } else if p_ch == b'[' && at(p, pi + 1) == b':' {
            match posix_class(p, pi, t_ch)? {
                Some((hit, close)) => {
                    matched |= hit;
                    pi = close;
                    p_ch = 0;
                }
                None => matched |= t_ch == b'[',
            }
        } else {
            matched |= t_ch == p_ch;
        }
        prev_ch = p_ch;
        pi += 1;
        p_ch = at(p, pi);
        if p_ch == b']' {
            break;
        }
    }
    if matched == negated || (pathname && t_ch == b'/') {
        return Err(Wild::NoMatch);
    }
    Ok(pi)
}

/// A `[:name:]` at `p[open]` inside a bracket expression: `Ok(None)` when it is not one (then
/// the `[` is an ordinary member), else whether `t_ch` is in the class and where its `]` is.
/// An unknown class name makes the whole pattern fail, as in git.
fn posix_class(p: &[u8], open: usize, t_ch: u8) -> Result<Option<(bool, usize)>, Wild> {
    let name_start = open + 2;
    let Some(offset) = p[name_start..].iter().position(|&b| b == b']') else {
        return Err(Wild::AbortAll);
    };
    let close = name_start + offset;
    if close == name_start || p[close - 1] != b':' {
        return Ok(None);
    }
    let hit = match &p[name_start..close - 1] {
        b"alnum" => t_ch.is_ascii_alphanumeric(),
        b"alpha" => t_ch.is_ascii_alphabetic(),
        b"blank" => t_ch == b' ' || t_ch == b'\t',
        b"cntrl" => t_ch.is_ascii_control(),
        b"digit" => t_ch.is_ascii_digit(),
        b"graph" => t_ch.is_ascii_graphic(),
        b"lower" => t_ch.is_ascii_lowercase(),
        b"print" => (0x20..=0x7e).contains(&t_ch),
        b"punct" => t_ch.is_ascii_punctuation(),
        // git's table has no vertical tab or form feed here, unlike C's isspace.
        b"space" => matches!(t_ch, b'\t' | b'\n' | b'\r' | b' '),
        b"upper" => t_ch.is_ascii_uppercase(),
        b"xdigit" => t_ch.is_ascii_hexdigit(),
        _ => return Err(Wild::AbortAll),
    };
    Ok(Some((hit, close)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// Cases from git's t3070-wildmatch.sh (the `wildmatch` column, i.e. with `WM_PATHNAME`).
    const WILDMATCH_CASES: &[(&str, &str, bool)] = &[
        ("foo", "foo", true),
        ("bar", "foo", false),
        ("", "", true),
        ("???", "foo", true),
        ("??", "foo", false),
        ("*", "foo", true),
        ("f*", "foo", true),
        ("*f", "foo", false),
        ("*foo*", "foo", true),
        ("*ob*a*r*", "foobar", true),
        ("*ab", "aaaaaaabababab", true),
        ("foo\\*", "foo*", true),
        ("foo\\*bar", "foobar", false),
        ("f\\\\oo", "f\\oo", true),
        ("*[al]?", "ball", true),
        ("[ten]", "ten", false),
        ("**[!te]", "ten", true),
        ("**[!ten]", "ten", false),
        ("t[a-g]n", "ten", true),
        ("t[!a-g]n", "ten", false),
        ("t[!a-g]n", "ton", true),
        ("t[^a-g]n", "ton", true),
        ("a[]]b", "a]b", true),
        ("a[]-]b", "a-b", true),
        ("a[]-]b", "a]b", true),
        ("a[]-]b", "aab", false),
        ("a[]a-]b", "aab", true),
        ("]", "]", true),
        ("foo*bar", "foo/baz/bar", false),
        ("foo**bar", "foo/baz/bar", false),
        ("foo**bar", "foobazbar", true),
        ("foo/**/bar", "foo/baz/bar", true),
        ("foo/**/**/bar", "foo/baz/bar", true),
        ("foo/**/bar", "foo/b/a/z/bar", true),
        ("foo/**/**/bar", "foo/b/a/z/bar", true),
        ("foo/**/bar", "foo/bar", true),
        ("foo/**/**/bar", "foo/bar", true),
        ("foo?bar", "foo/bar", false),
        ("foo[/]bar", "foo/bar", false),
        ("foo[^a-z]bar", "foo/bar", false),
        ("f[^eiu][^eiu][^eiu][^eiu][^eiu]r", "foo/bar", false),
        ("f[^eiu][^eiu][^eiu][^eiu][^eiu]r", "foo-bar", true),
        ("**/foo", "foo", true),
        ("**/foo", "XXX/foo", true),
        ("**/foo", "bar/baz/foo", true),
        ("*/foo", "bar/baz/foo", false),
        ("**/bar*", "foo/bar/baz", false),
        ("**/bar/*", "deep/foo/bar/baz", true),
        ("**/bar/*", "deep/foo/bar/baz/", false),
        ("**/bar/**", "deep/foo/bar/baz/", true),
        ("**/bar/*", "deep/foo/bar", false),
        ("**/bar/**", "deep/foo/bar/", true),
        ("**/bar**", "foo/bar/baz", false),
        ("*/bar/**", "foo/bar/baz/x", true),
        ("*/bar/**", "deep/foo/bar/baz/x", false),
        ("**/bar/*/*", "deep/foo/bar/baz/x", true),
        ("a1B", "a1B", true),
        ("[[:alpha:]][[:digit:]][[:upper:]]", "a1B", true),
        ("[[:digit:][:upper:][:space:]]", "a", false),
        ("[[:digit:][:upper:][:space:]]", "A", true),
        ("[[:digit:][:upper:][:space:]]", "1", true),
        ("[[:digit:][:upper:][:spaci:]]", "1", false),
        ("[[:digit:][:upper:][:space:]]", " ", true),
        ("[[:digit:][:upper:][:space:]]", ".", false),
        ("[[:digit:][:punct:][:space:]]", ".", true),
        ("[[:xdigit:]]", "5", true),
        ("[[:xdigit:]]", "f", true),
        ("[[:xdigit:]]", "D", true),
        ("[a-c[:digit:]x-z]", "5", true),
        ("[a-c[:digit:]x-z]", "b", true),
        ("[a-c[:digit:]x-z]", "y", true),
        ("[a-c[:digit:]x-z]", "q", false),
        ("[\\\\-^]", "]", true),
        ("[\\\\-^]", "[", false),
        ("[\\-_]", "-", true),
        ("[\\]]", "]", true),
        ("[\\]]", "\\]", false),
        ("[\\]]", "\\", false),
        ("a[]b", "ab", false),
        ("a[]b", "a[]b", false),
        ("ab[", "ab[", false),
        ("[!", "ab", false),
        ("[-", "ab", false),
        ("[-]", "-", true),
        ("[a-", "-", false),
        ("[!a-", "-", false),
        ("[--A]", "-", true),
        ("[--A]", "5", true),
        ("[ --]", " ", true),
        ("[ --]", "$", true),
        ("[ --]", "-", true),
        ("[ --]", "0", false),
        ("[---]", "-", true),
        ("[------]", "-", true),
        ("[a-e-n]", "j", false),
        ("[a-e-n]", "-", true),
        ("[!------]", "a", true),
        ("[]-a]", "[", false),
        ("[]-a]", "^", true),
        ("[!]-a]", "^", false),
        ("[!]-a]", "[", true),
        ("[a^bc]", "^", true),
        ("[a-]b]", "-b]", true),
        ("[\\]", "\\", false),
        ("[\\\\]", "\\", true),
        ("[!\\\\]", "\\", false),
        ("[A-\\\\]", "G", true),
        ("b*a", "aaabbb", false),
        ("*ba*", "aabcaa", false),
        ("[,]", ",", true),
        ("[\\\\,]", ",", true),
        ("[\\\\,]", "\\", true),
        ("[,-.]", "-", true),
        ("[,-.]", "+", false),
        ("[,-.]", "-.]", false),
        ("[\\1-\\3]", "2", true),
        ("[\\1-\\3]", "3", true),
        ("[\\1-\\3]", "4", false),
        ("[[-\\]]", "\\", true),
        ("[[-\\]]", "[", true),
        ("[[-\\]]", "]", true),
        ("[[-\\]]", "-", false),
        (
            "-*-*-*-*-*-*-12-*-*-*-m-*-*-*",
            "-adobe-courier-bold-o-normal--12-120-75-75-m-70-iso8859-1",
            true,
        ),
        (
            "-*-*-*-*-*-*-12-*-*-*-m-*-*-*",
            "-adobe-courier-bold-o-normal--12-120-75-75-X-70-iso8859-1",
            false,
        ),
        (
            "XXX/*/*/*/*/*/*/12/*/*/*/m/*/*/*",
            "XXX/adobe/courier/bold/o/normal//12/120/75/75/m/70/iso8859/1",
            true,
        ),
        (
            "**/*a*b*g*n*t",
            "abcd/abcdefg/abcdefghijk/abcdefghijklmnop.txt",
            true,
        ),
        (
            "**/*a*b*g*n*t",
            "abcd/abcdefg/abcdefghijk/abcdefghijklmnop.txtz",
            false,
        ),
        ("*/*/*", "foo", false),
        ("*/*/*", "foo/bar", false),
        ("*/*/*", "foo/bba/arr", true),
        ("*/*/*", "foo/bb/aa/rr", false),
        ("**/**/**", "foo/bb/aa/rr", true),
        ("*X*i", "abcXdefXghi", true),
        ("*X*i", "ab/cXd/efXg/hi", false),
        ("*/*X*/*/*i", "ab/cXd/efXg/hi", true),
        ("**/*X*/**/*i", "ab/cXd/efXg/hi", true),
        ("fo", "foo", false),
        ("foo/bar", "foo/bar", true),
        ("foo/*", "foo/bar", true),
        ("foo/*", "foo/bba/arr", false),
        ("foo/**", "foo/bba/arr", true),
        ("foo*", "foo/bba/arr", false),
        ("foo**", "foo/bba/arr", false),
        ("foo/*arr", "foo/bba/arr", false),
        ("foo/**arr", "foo/bba/arr", false),
        ("foo/*z", "foo/bba/arr", false),
        ("foo/**z", "foo/bba/arr", false),
        ("foo?bar", "foo\nbar", true),
        ("[[:space:]]", "\x0b", false),
        ("[[:space:]]", "\r", true),
        ("[[:graph:]]", " ", false),
        ("?", "\u{e9}", false),
        ("??", "\u{e9}", true),
        ("[[:alpha:]]*", "\u{e9}t\u{e9}", false),
    ];

    #[test]
    fn wildmatch_agrees_with_git_test_suite() {
        let wrong: Vec<_> = WILDMATCH_CASES
            .iter()
            .filter(|(p, t, want)| wildmatch(p.as_bytes(), t.as_bytes(), true) != *want)
            .collect();
        assert!(
            wrong.is_empty(),
            "wildmatch disagrees with git on {wrong:#?}"
        );
    }

    #[test]
    fn wildmatch_without_pathname_lets_wildcards_cross_slashes() {
        assert!(wildmatch(b"foo*bar", b"foo/baz/bar", false));
        assert!(wildmatch(b"foo?bar", b"foo/bar", false));
        assert!(wildmatch(b"foo[/]bar", b"foo/bar", false));
        assert!(wildmatch(b"*/foo", b"bar/baz/foo", false));
        assert!(!wildmatch(b"**/foo", b"foo", false));
    }

    #[test]
    fn parse_trims_and_skips_like_a_gitignore_file() {
        let set = PatternSet::new(["\u{feff}", "# comment", "   ", "\r", ""]).unwrap();
        assert!(set.is_empty());
        let set = PatternSet::new(["\u{feff}# bom comment", "a.txt  \r"]).unwrap();
        assert!(!set.is_empty());
        assert_eq!(set.matching_pattern("dir/a.txt"), Some("a.txt  \r"));
        assert_eq!(trim_trailing_spaces("foo\\  "), "foo\\ ");
        assert_eq!(trim_trailing_spaces("foo \\"), "foo \\");
        assert_eq!(trim_trailing_spaces("foo\t "), "foo\t");
    }

    #[test]
    fn invalid_patterns_are_only_those_no_line_can_hold() {
        let err = PatternSet::new(["ok", "a\0b"]).unwrap_err();
        assert_eq!(err.pattern, "a\0b");
        assert!(err.to_string().contains("NUL"), "{err}");
        assert!(PatternSet::new(["a\nb"]).is_err());
        assert!(PatternSet::new(["[", "[[:nope:]]", "\\", "!", "/", "**/"]).is_ok());
    }

    #[test]
    fn matching_pattern_names_the_deciding_pattern() {
        let set = PatternSet::new(["target/", "*.log", "!keep.log", "/secrets/**"]).unwrap();
        assert_eq!(set.matching_pattern("a/target/x/keep.log"), Some("target/"));
        assert_eq!(set.matching_pattern("x.log"), Some("*.log"));
        assert_eq!(set.matching_pattern("keep.log"), None);
        assert_eq!(set.matching_pattern("secrets/k"), Some("/secrets/**"));
        assert_eq!(set.matching_pattern("target"), None);
        assert!(!set.is_match(""));
        assert!(!set.is_match("a\0.log"));
    }

    /// (patterns, file path); the expected answer comes from git itself.
    const GIT_CASES: &[(&[&str], &str)] = &[
        (&["foo"], "foo"),
        (&["foo"], "a/foo"),
        (&["foo"], "a/b/foo"),
        (&["foo"], "foo/bar.txt"),
        (&["foo"], "foobar"),
        (&["*.log"], "logs/x/debug.log"),
        (&["*.log"], "debug.log.txt"),
        (&["/foo"], "foo"),
        (&["/foo"], "a/foo"),
        (&["/foo"], "foo/x"),
        (&["/*.c"], "x.c"),
        (&["/*.c"], "d/x.c"),
        (&["doc/frotz"], "doc/frotz"),
        (&["doc/frotz"], "a/doc/frotz"),
        (&["doc/frotz"], "doc/frotz/x"),
        (&["doc/*.txt"], "doc/a.txt"),
        (&["doc/*.txt"], "doc/sub/a.txt"),
        (&["a/*"], "a/b/c"),
        (&["/a*c"], "ab/c"),
        (&["**/foo"], "foo"),
        (&["**/foo"], "x/y/foo"),
        (&["**/foo"], "x/foo/bar"),
        (&["**/foo/bar"], "a/foo/bar"),
        (&["abc/**"], "abc/x/y"),
        (&["abc/**"], "abc"),
        (&["a/**/b"], "a/b"),
        (&["a/**/b"], "a/x/y/b"),
        (&["a/**/b"], "a/xb"),
        (&["a/**/**/b"], "a/b"),
        (&["foo**/bar"], "foo/x/bar"),
        (&["foo**/bar"], "foox/y/bar"),
        (&["**foo"], "a/xfoo"),
        (&["**"], "x/y"),
        (&["build/"], "build/out.o"),
        (&["build/"], "build"),
        (&["build/"], "src/build/x"),
        (&["/build/"], "src/build/x"),
        (&["a/b/"], "a/b/c"),
        (&["a/b/"], "x/a/b/c"),
        (&["foo/bar/"], "foo/bar"),
        (&["*/"], "a/b"),
        (&["*/"], "b"),
        (&["*.log", "!keep.log"], "keep.log"),
        (&["*.log", "!keep.log"], "other.log"),
        (&["logs/", "!logs/keep.log"], "logs/keep.log"),
        (&["logs/*", "!logs/keep.log"], "logs/keep.log"),
        (&["logs/", "!keep.log"], "logs/keep.log"),
        (&["!foo", "foo"], "foo"),
        (&["foo", "!foo"], "foo/bar"),
        (&["/*", "!/src"], "src/main.rs"),
        (&["/*", "!/src"], "README.md"),
        (&["*", "!*/", "!*.rs"], "src/main.rs"),
        (&["*", "!*/", "!*.rs"], "src/notes.md"),
        (&["*.TXT"], "a.txt"),
        (&["Makefile"], "makefile"),
        (&["?.c"], "a.c"),
        (&["?.c"], "ab.c"),
        (&["a?b"], "a/b"),
        (&["a[/]b"], "a/b"),
        (&["*.[oa]"], "x.o"),
        (&["*.[oa]"], "x.c"),
        (&["[a-c]*.txt"], "b1.txt"),
        (&["[a-c]*.txt"], "d1.txt"),
        (&["[!a-c]*.txt"], "d.txt"),
        (&["[^a-c]*.txt"], "a.txt"),
        (&["file[[:digit:]].txt"], "file7.txt"),
        (&["[[:upper:]]*"], "readme"),
        (&["foo[bar"], "foo[bar"),
        (&["\\[abc\\]"], "[abc]"),
        (&["\\!important"], "!important"),
        (&["!important"], "!important"),
        (&["\\#notes"], "#notes"),
        (&["#notes"], "#notes"),
        (&["foo\\*"], "foo*"),
        (&["foo\\*"], "foox"),
        (&["foo   "], "foo"),
        (&["foo\\ "], "foo "),
        (&["foo\\ "], "foo"),
        (&["foo \\ "], "foo  "),
        (&[" leading"], " leading"),
        (&["foo\r"], "foo"),
        (&[".*"], ".env"),
        (&[".*"], "a/.hidden/x"),
        (&[".*"], "a.txt"),
        (&[".env"], "config/.env"),
        (&[".env"], ".env.example"),
        (&["*"], ".bashrc"),
        (&[".github/workflows/"], ".github/workflows/ci.yml"),
        (&[".github/workflows/"], ".github/ci.yml"),
        (&[".github/workflows/"], "x/.github/workflows/ci.yml"),
        (&["*.lock"], "sub/yarn.lock"),
        (&["*.lock"], "lockfile"),
        (&["Cargo.lock"], "crates/a/Cargo.lock"),
        (&["Cargo.lock"], "Cargo.lock.bak"),
        (&["**/migrations/**"], "db/migrations/001.sql"),
        (&["**/migrations/**"], "migrations/001.sql"),
        (&["**/migrations/**"], "migrations"),
        (&["**/migrations/**"], "db/migrations.sql"),
        (&["*.pem"], "certs/server.pem"),
        (&["*.pem"], "a.pem.bak"),
        (&["secrets*"], "secrets.yaml"),
        (&["secrets*"], "config/secrets/prod.env"),
        (&["secrets*"], "mysecrets"),
        (&["my dir/"], "my dir/file name.txt"),
        (&["*.tmp"], "a b/c d.tmp"),
        (&["a/b/c/d/e/"], "a/b/c/d/e/f/g.txt"),
        (&["**/node_modules"], "x/y/z/node_modules/p/index.js"),
        (&["doc/**/*.pdf"], "doc/a.pdf"),
        (&["doc/**/*.pdf"], "doc/x/y/a.pdf"),
        (&["*.yml"], ".gitlab-ci.yml"),
        (&["/*.yml"], "ci/.gitlab-ci.yml"),
        (&["*.yml", "!.gitlab-ci.yml"], ".gitlab-ci.yml"),
        (&["/"], "foo"),
        (&["a/**"], "a"),
        (&["\u{e9}*"], "\u{e9}cole.txt"),
        (&["?cole"], "\u{e9}cole"),
        (&["??cole"], "\u{e9}cole"),
    ];

    /// A scratch repository that removes itself, so a failing run leaves nothing behind.
    struct Scratch(PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Runs git isolated from the caller's repository (tests may run inside a hook) and from
    /// user and system configuration, including the default global excludes file.
    fn git(dir: &Path, args: &[&str]) -> std::process::Output {
        let mut cmd = Command::new("git");
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("GIT_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_SYSTEM", "/dev/null")
            .args(["-c", "core.excludesFile=/dev/null"])
            .args(args)
            .current_dir(dir)
            .output()
            .expect("git must be installed to compare against it")
    }

    fn reset_worktree(root: &Path) {
        for entry in std::fs::read_dir(root).unwrap() {
            let entry = entry.unwrap();
            if entry.file_name() == ".git" {
                continue;
            }
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                std::fs::remove_dir_all(&path).unwrap();
            } else {
                std::fs::remove_file(&path).unwrap();
            }
        }
    }

    /// Whether git reports `path` as ignored by a root .gitignore holding `patterns`.
    fn git_ignores(root: &Path, patterns: &[&str], path: &str) -> bool {
        reset_worktree(root);
        let mut gitignore = patterns.join("\n");
        gitignore.push('\n');
        std::fs::write(root.join(".gitignore"), gitignore).unwrap();
        let file = root.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, b"").unwrap();
        let out = git(root, &["check-ignore", "--no-index", "-q", "--", path]);
        match out.status.code() {
            Some(0) => true,
            Some(1) => false,
            _ => panic!(
                "git check-ignore failed for {patterns:?} {path:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }

    #[test]
    fn agrees_with_git_check_ignore() {
        assert!(GIT_CASES.len() >= 40);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!("gatehouse-pathmatch-{}-{nanos}", std::process::id());
        let scratch = Scratch(std::env::temp_dir().join(name));
        std::fs::create_dir_all(&scratch.0).unwrap();
        let init = git(&scratch.0, &["init", "-q"]);
        assert!(
            init.status.success(),
            "git init: {}",
            String::from_utf8_lossy(&init.stderr)
        );

        let mut mismatches = Vec::new();
        for &(patterns, path) in GIT_CASES {
            let expected = git_ignores(&scratch.0, patterns, path);
            let actual = PatternSet::new(patterns).unwrap().is_match(path);
            if actual != expected {
                let msg =
                    format!("patterns {patterns:?} path {path:?}: git {expected}, ours {actual}");
                eprintln!("MISMATCH {msg}");
                mismatches.push(msg);
            }
        }
        assert!(
            mismatches.is_empty(),
            "{} of {} cases disagree with git:\n{}",
            mismatches.len(),
            GIT_CASES.len(),
            mismatches.join("\n")
        );
    }

    #[test]
    fn lint_rejects_patterns_that_can_never_match() {
        for bad in [
            "",
            "   ",
            "#x",
            "!",
            "/",
            "!/",
            "src/[ab",
            "[!]",
            "[[:word:]]",
            "a\\",
            "./a.py",
            "src/../x",
            "a\nb",
        ] {
            assert!(lint(bad).is_err(), "{bad:?} should be rejected");
        }
        for good in [
            "*.py",
            "src/",
            "/build",
            "!keep.py",
            "**/x",
            "[a-z]*.py",
            "[]]",
            "[!]]x",
            "[[:alpha:]]*",
            "\\#literal",
            "a[\\]]b",
            "[[:x]",
            "dir/**",
        ] {
            assert_eq!(lint(good), Ok(()), "{good:?} should be accepted");
        }
    }
}
