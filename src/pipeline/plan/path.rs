//! Where a step sits in its plan: its path, kept as a chain of names that share their prefixes.
//!
//! A plan's steps at depth `d` all have paths of `d + 1` names. Stored as full strings, a chain
//! nested `n` deep would hold `n²/2` names' worth of text; here each context holds its own
//! name and a link to its parent's path, so a plan holds one name per step, and the text
//! (`morning/lights/hue`) is built only when something asks for it: an error, a span of the
//! [`Trace`](super::Trace), or [`StepContext::path`](super::StepContext::path).
//!
//! Depth itself is bounded: [`MAX_DEPTH`] says why.

use std::fmt;
use std::sync::Arc;

/// The deepest a step may sit below its plan's root (the root is at depth 0); a step deeper
/// still is not run, and fails with [`StepError::TooDeep`](super::StepError::TooDeep).
///
/// Each level polls the one below it, so the stack a plan needs grows with its depth: about
/// 4 KiB per level in a debug build, under 1 KiB in release. 200 levels fit in the 2 MiB of a
/// spawned task's stack, with room for the steps' own frames; far deeper would overflow it,
/// which aborts the process. Real plans nest a handful of levels.
pub const MAX_DEPTH: usize = 200;

/// A step's path: its name and its parent's path, shared with its siblings. Empty at the top,
/// above the root step.
#[derive(Clone, Default)]
pub(super) struct Path(Option<Arc<Segment>>);

struct Segment {
    name: Box<str>,
    parent: Path,
}

impl Path {
    /// The path of a step named `name` under this one (the root's own name, at the top).
    pub(super) fn child(&self, name: &str) -> Path {
        let parent = self.clone();
        Path(Some(Arc::new(Segment {
            name: name.into(),
            parent,
        })))
    }
}

impl fmt::Display for Path {
    /// The names from the root down, joined by `/`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names = Vec::new();
        let mut at = self.0.as_deref();
        while let Some(segment) = at {
            names.push(&*segment.name);
            at = segment.parent.0.as_deref();
        }
        for (i, name) in names.iter().rev().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_names_from_the_root_and_share_their_prefix() {
        let root = Path::default().child("morning");
        let (a, b) = (root.child("lights"), root.child("speaker"));
        assert_eq!(a.child("hue").to_string(), "morning/lights/hue");
        assert_eq!(b.to_string(), "morning/speaker");
        assert_eq!(Path::default().to_string(), "");
        // A root named "" is a level of its own.
        assert_eq!(Path::default().child("").child("a").to_string(), "/a");
        // The siblings hold the same parent, not copies of it.
        let parent = |p: &Path| {
            p.0.as_ref()
                .map(|s| Arc::as_ptr(&s.parent.0.clone().unwrap()))
        };
        assert_eq!(parent(&a), parent(&b));
    }
}
