//! The unified diff of one planned file, as `git apply` takes it.

use super::FileChange;

/// A unified diff of one file, `a/` and `b/` prefixed so `git apply`
/// takes it; plain text, for the caller to colour.
pub fn unified_diff(change: &FileChange) -> String {
    let path = crate::source::display_path(&change.path);
    let before = change.before.as_deref().unwrap_or("");
    let after = change.after.as_deref().unwrap_or("");
    let old = if change.before.is_some() {
        format!("a/{path}")
    } else {
        "/dev/null".into()
    };
    let new = if change.after.is_some() {
        format!("b/{path}")
    } else {
        "/dev/null".into()
    };
    let diff = similar::TextDiff::from_lines(before, after);
    let mut out = format!("diff --git a/{path} b/{path}\n");
    if change.before.is_none() {
        out.push_str("new file mode 100644\n");
    } else if change.after.is_none() {
        out.push_str("deleted file mode 100644\n");
    }
    out.push_str(
        &diff
            .unified_diff()
            .context_radius(3)
            .header(&old, &new)
            .to_string(),
    );
    out
}
