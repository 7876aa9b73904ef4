//! The human scan report: a hosts × users matrix (repeated users first),
//! then each repeated user's common and differing attributes and where
//! each copy is.

use std::collections::BTreeMap;
use std::fmt::Write;

use anstyle::{AnsiColor, Style};
use clan_migrate::ScanReport;
use clan_migrate::analyse::Status;
use clan_migrate::diagnostic::Severity;
use clan_migrate::index::UserOption;
use clan_migrate::report::UserReport;

/// Wider fleets get a per-user summary instead of a matrix.
const MATRIX_MAX_HOSTS: usize = 12;

struct Paint {
    color: bool,
}

impl Paint {
    fn style(&self, text: &str, style: Style) -> String {
        if self.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }

    fn status(&self, s: Status) -> String {
        let color = match s {
            Status::Repeated => AnsiColor::Yellow,
            Status::Shared => AnsiColor::Green,
            Status::Single => AnsiColor::BrightBlack,
            Status::Dynamic => AnsiColor::Magenta,
        };
        self.style(s.as_str(), Style::new().fg_color(Some(color.into())))
    }

    fn bold(&self, text: &str) -> String {
        self.style(text, Style::new().bold())
    }
}

fn label(u: &UserReport) -> String {
    match u.option {
        UserOption::Users => u.name.clone(),
        UserOption::HomeManager => format!("{} (home-manager)", u.name),
    }
}

fn order(users: &[UserReport]) -> Vec<&UserReport> {
    let mut v: Vec<&UserReport> = users.iter().collect();
    v.sort_by(|a, b| (a.status, &a.name, a.option).cmp(&(b.status, &b.name, b.option)));
    v
}

pub fn render(report: &ScanReport, color: bool) -> String {
    let p = Paint { color };
    let mut out = String::new();
    let mut counts: BTreeMap<Status, usize> = BTreeMap::new();
    for u in &report.users {
        *counts.entry(u.status).or_default() += 1;
    }
    let count = |s| counts.get(&s).copied().unwrap_or(0);
    let errors = report
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = report
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    let _ = writeln!(
        out,
        "{} hosts, {} users: {} repeated, {} shared, {} single, {} dynamic; {} errors, {} warnings",
        report.hosts.len(),
        report.users.len(),
        count(Status::Repeated),
        count(Status::Shared),
        count(Status::Single),
        count(Status::Dynamic),
        errors,
        warnings,
    );
    out.push('\n');
    let _ = writeln!(out, "{}", p.bold("Hosts"));
    for h in &report.hosts {
        let _ = writeln!(
            out,
            "  {:<20} {:<40} ({}, {} files)",
            h.name,
            h.root,
            h.found_by,
            h.files.len()
        );
        if !h.shared.is_empty() {
            let _ = writeln!(out, "  {:<20} shared: {}", "", h.shared.join(", "));
        }
    }
    out.push('\n');
    if report.users.is_empty() {
        out.push_str("No user definitions found.\n");
        return out;
    }
    let users = order(&report.users);
    let name_width = users
        .iter()
        .map(|u| label(u).chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    if report.hosts.len() <= MATRIX_MAX_HOSTS {
        matrix(&mut out, &p, report, &users, name_width);
    } else {
        summary(&mut out, &p, &users, name_width);
    }
    for u in users.iter().filter(|u| u.status == Status::Repeated) {
        out.push('\n');
        let _ = writeln!(
            out,
            "{} ({}), repeated on {}",
            p.bold(&label(u)),
            u.option.as_str(),
            clan_migrate::report::host_list(&u.hosts)
        );
        let _ = writeln!(out, "  common:    {}", list_or_none(&u.common));
        let _ = writeln!(out, "  differing: {}", list_or_none(&u.differing));
        for d in &u.definitions {
            let host = d.host.clone().unwrap_or_else(|| {
                format!("shared by {}", clan_migrate::report::host_list(&d.hosts))
            });
            let cond = if d.conditional { ", conditional" } else { "" };
            let _ = writeln!(
                out,
                "  {}:{}  {host}{cond}: {}",
                d.file,
                d.line,
                d.attrs.join(", ")
            );
        }
    }
    out
}

fn matrix(
    out: &mut String,
    p: &Paint,
    report: &ScanReport,
    users: &[&UserReport],
    name_width: usize,
) {
    let _ = write!(out, "{:<name_width$}", "");
    for h in &report.hosts {
        let _ = write!(out, "  {}", h.name);
    }
    out.push('\n');
    for u in users {
        let _ = write!(out, "{:<name_width$}", label(u));
        for h in &report.hosts {
            let mark = if u
                .definitions
                .iter()
                .any(|d| d.host.as_deref() == Some(h.name.as_str()))
            {
                "L"
            } else if u.hosts.contains(&h.name) {
                "S"
            } else {
                "."
            };
            let width = h.name.chars().count();
            let _ = write!(out, "  {mark:^width$}");
        }
        let _ = writeln!(out, "  {}", p.status(u.status));
    }
    out.push_str("\nL: defined in the host's own files   S: through a module shared by several hosts   .: absent\n");
}

fn summary(out: &mut String, p: &Paint, users: &[&UserReport], name_width: usize) {
    let _ = writeln!(
        out,
        "{:<name_width$}  {:>6}  {:>6}  status",
        "user", "hosts", "local"
    );
    for u in users {
        let local = u
            .definitions
            .iter()
            .filter_map(|d| d.host.as_deref())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        let _ = writeln!(
            out,
            "{:<name_width$}  {:>6}  {:>6}  {}",
            label(u),
            u.hosts.len(),
            local,
            p.status(u.status)
        );
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_string()
    } else {
        items.join(", ")
    }
}
