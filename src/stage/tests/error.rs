//! Every error says what to do next.

use super::*;

#[test]
fn messages_say_what_to_do() {
    let errors = [
        StageError::Injected {
            point: "before-ref".into(),
            message: "x".into(),
        },
        StageError::HeadMoved {
            expected: "a".into(),
            found: "b".into(),
        },
        StageError::Io {
            action: "write".into(),
            path: "x".into(),
            source: io::Error::other("disk full"),
        },
        StageError::RestoreFailed {
            cause: "could not write `x`: disk full".into(),
            failures: vec!["`y`: could not remove this new file: boom".into()],
        },
        StageError::Locked {
            lock: ".git/index.lock".into(),
        },
        StageError::NotCheckedOut {
            branch: "b".into(),
            original: "main".into(),
            tip: "abc1234".into(),
            count: 1,
            cause: Box::new(StageError::Git {
                action: "checking out".into(),
                source: git2::Error::from_str("boom"),
            }),
            worktree_touched: true,
        },
    ];
    for e in errors {
        let msg = e.to_string();
        assert!(
            msg.contains("run again") || msg.contains("git switch"),
            "{msg}"
        );
    }
}
