//! Values that parse but cannot mean what they say: path patterns that never match (a rule
//! silently off), empty pattern lists, budgets that are not a finite amount of money. Each is an
//! error at the offending value.

use toml::Spanned;

use super::ConfigError;
use crate::pathmatch::PatternSet;

/// Branch names are matched whole: each pattern is anchored at the start of the name.
pub(super) fn compile_protected(
    file: &str,
    text: &str,
    patterns: &[Spanned<String>],
) -> Result<(Vec<String>, PatternSet), ConfigError> {
    for pattern in patterns {
        lint(file, text, pattern)?;
    }
    let anchored: Vec<Spanned<String>> = patterns
        .iter()
        .map(|p| {
            let name = p.get_ref();
            let anchored = match name.strip_prefix('!') {
                Some(rest) => format!("!/{}", rest.trim_start_matches('/')),
                None => format!("/{}", name.trim_start_matches('/')),
            };
            Spanned::new(p.span(), anchored)
        })
        .collect();
    let set = compile(file, text, &anchored)?;
    Ok((patterns.iter().map(|p| p.get_ref().clone()).collect(), set))
}

/// A `paths` list must name at least one pattern: an empty one would match nothing and so turn
/// the rule (or the sensitive table) off without saying so.
pub(super) fn non_empty(
    file: &str,
    text: &str,
    paths: &Spanned<Vec<Spanned<String>>>,
) -> Result<(), ConfigError> {
    if paths.get_ref().is_empty() {
        return Err(ConfigError::new(
            file,
            text,
            Some(paths.span()),
            "`paths` has no pattern, so it matches no file: name at least one, or set `level = \"off\"`",
        ));
    }
    Ok(())
}

/// A pattern git would accept but that can never match (a rule silently off) is an error.
fn lint(file: &str, text: &str, pattern: &Spanned<String>) -> Result<(), ConfigError> {
    crate::pathmatch::lint(pattern.get_ref()).map_err(|message| {
        ConfigError::new(
            file,
            text,
            Some(pattern.span()),
            format!("invalid path pattern {:?}: {message}", pattern.get_ref()),
        )
    })
}

/// A budget in US dollars: a finite number, zero or more.
pub fn check_budget(value: f64) -> Result<(), String> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(format!(
            "must be a finite number of US dollars, 0 or more (got {value})"
        ))
    }
}

pub(super) fn compile(
    file: &str,
    text: &str,
    patterns: &[Spanned<String>],
) -> Result<PatternSet, ConfigError> {
    for pattern in patterns {
        lint(file, text, pattern)?;
        PatternSet::new([pattern.get_ref()]).map_err(|e| {
            ConfigError::new(
                file,
                text,
                Some(pattern.span()),
                format!("invalid path pattern: {}", e.message),
            )
        })?;
    }
    PatternSet::new(patterns.iter().map(Spanned::get_ref)).map_err(|e| {
        ConfigError::new(
            file,
            text,
            None,
            format!("invalid path pattern: {}", e.message),
        )
    })
}
