//! How a cached [`Entry`] is stored: a compact binary form (lengths, then bytes), which a warm
//! check of a large repository decodes several times faster than JSON and reads half as much
//! of. A value that does not decode exactly is a cache miss.

use super::{Diagnostics, Entry};
use crate::checks::Diagnostic;
use crate::config::Level;
use crate::engine::project::Dependencies;

/// The first byte of every value; another byte (an older form) decodes as a miss.
const FORM: u8 = 1;

/// `entry` in its stored form.
pub fn encode(entry: &Entry) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + 200 * entry.diagnostics.len());
    out.push(FORM);
    len(&mut out, entry.diagnostics.len());
    for (rule, d) in &entry.diagnostics {
        text(&mut out, rule);
        text(&mut out, &d.code);
        for n in [d.line, d.column, d.end_line, d.end_column] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        text(&mut out, &d.message);
        maybe(&mut out, d.symbol.as_deref());
        maybe(&mut out, d.help.as_deref());
        out.push(d.level.map_or(0, |l| 1 + l as u8));
    }
    let deps = &entry.deps;
    len(&mut out, deps.files.len());
    for (path, id) in &deps.files {
        text(&mut out, path);
        maybe(&mut out, id.as_deref());
    }
    maybe(&mut out, deps.listing.as_deref());
    len(&mut out, deps.dirs.len());
    for (dir, exists) in &deps.dirs {
        text(&mut out, dir);
        out.push(u8::from(*exists));
    }
    out
}

/// The entry `bytes` hold, or `None` unless they are exactly one entry in the stored form.
pub fn decode(bytes: &[u8]) -> Option<Entry> {
    let mut r = Reader(bytes);
    (r.byte()? == FORM).then_some(())?;
    let count = r.len()?;
    let mut diagnostics: Diagnostics = Vec::with_capacity(count.min(bytes.len() / 16));
    for _ in 0..count {
        let rule = r.text()?;
        let code = r.text()?;
        let [line, column, end_line, end_column] = [r.u32()?, r.u32()?, r.u32()?, r.u32()?];
        let message = r.text()?;
        let (symbol, help) = (r.maybe()?, r.maybe()?);
        let level = match r.byte()? {
            0 => None,
            1 => Some(Level::Off),
            2 => Some(Level::Warn),
            3 => Some(Level::Review),
            4 => Some(Level::Block),
            _ => return None,
        };
        let diagnostic = Diagnostic {
            code,
            line,
            column,
            end_line,
            end_column,
            message,
            symbol,
            help,
            level,
        };
        diagnostics.push((rule, diagnostic));
    }
    let mut deps = Dependencies::default();
    for _ in 0..r.len()? {
        deps.files.push((r.text()?, r.maybe()?));
    }
    deps.listing = r.maybe()?;
    for _ in 0..r.len()? {
        let dir = r.text()?;
        let exists = match r.byte()? {
            0 => false,
            1 => true,
            _ => return None,
        };
        deps.dirs.push((dir, exists));
    }
    r.0.is_empty().then_some(Entry { diagnostics, deps })
}

fn len(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

fn text(out: &mut Vec<u8>, s: &str) {
    len(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

fn maybe(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            text(out, s);
        }
    }
}

struct Reader<'b>(&'b [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn len(&mut self) -> Option<usize> {
        usize::try_from(self.u32()?).ok()
    }

    fn text(&mut self) -> Option<String> {
        let n = self.len()?;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }

    fn maybe(&mut self) -> Option<Option<String>> {
        match self.byte()? {
            0 => Some(None),
            1 => Some(Some(self.text()?)),
            _ => None,
        }
    }
}
