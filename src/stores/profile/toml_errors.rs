//! Reading TOML without echoing secrets. toml's error Display quotes the source line, and
//! serde's type errors quote the value (`invalid type: string "hunter2"`): errors are built here
//! from the message and the line number only, and the message of a secret key, or of a value
//! filled from `${…}`, never holds the value.

use std::collections::{HashMap, HashSet};

/// A key whose value an error never shows: `password`, `api_key`, `secrets`, `access_token`,
/// `token` and their kin, at any depth (`buzzbip.password`, `webhook.secrets[0]`).
pub fn is_secret_key(path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or(path);
    let last = last.split('[').next().unwrap_or(last).trim_matches('"');
    let last = last.to_ascii_lowercase();
    [
        "password",
        "secret",
        "token",
        "api_key",
        "apikey",
        "private_key",
        // WooCommerce's REST key is half of its Basic credentials.
        "consumer_key",
    ]
    .iter()
    .any(|s| last.contains(s))
}

/// One problem in a TOML file: the key (empty when none can be named) and a message that
/// starts with the line when it is known and never holds a secret's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TomlProblem {
    pub key: String,
    /// Already at the start of `message` when known.
    pub line: Option<usize>,
    pub message: String,
}

/// Parses `text`, or says where it is not TOML: `line 7: not valid TOML: invalid basic
/// string`, with the key that line sets, and neither the line itself nor its value.
pub fn parse_toml(text: &str) -> Result<toml::Value, TomlProblem> {
    toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_at(text, s.start));
        let key = line.map(|l| key_on_line(text, l)).unwrap_or_default();
        let at = line.map(|l| format!("line {l}: ")).unwrap_or_default();
        TomlProblem {
            key,
            line,
            message: format!("{at}not valid TOML: {}", e.message().trim()),
        }
    })
}

/// Turns a deserialisation error at `key` (a serde message) into one for people: with the
/// line the key is on in `text`, and without the value when the key is secret or its value
/// came from `${…}`.
pub fn type_problem(
    text: &str,
    key: &str,
    message: &str,
    expanded: &HashSet<String>,
) -> TomlProblem {
    let hidden = is_secret_key(key)
        || expanded.iter().any(|p| {
            p == key
                || p.starts_with(&format!("{key}."))
                || p.starts_with(&format!("{key}["))
                || key.starts_with(&format!("{p}."))
                || key.starts_with(&format!("{p}["))
        });
    let message =
        if hidden && !message.starts_with("missing field") && !message.starts_with("unknown field")
        {
            hide_value(message)
        } else {
            message.to_owned()
        };
    let line = line_of(text, key);
    let at = line.map(|l| format!("line {l}: ")).unwrap_or_default();
    TomlProblem {
        key: key.to_owned(),
        line,
        message: format!("{at}{message}"),
    }
}

/// `invalid type: string "hunter2", expected a sequence` → `expected a sequence (the value is
/// not shown)`. The part kept comes from the type, never from the value.
fn hide_value(message: &str) -> String {
    const NOT_SHOWN: &str = "the value is not shown";
    let typed = ["invalid type", "invalid value", "invalid length"]
        .iter()
        .any(|p| message.starts_with(p));
    match message.rfind(", expected ") {
        Some(i) if typed => format!("{} ({NOT_SHOWN})", &message[i + 2..]),
        _ => format!("invalid value ({NOT_SHOWN})"),
    }
}

/// 1-based line of a byte offset.
fn line_at(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The line a key path (`notify[1].template_id`) is written on, or the line of the deepest
/// part of it that is; `None` when the text does not parse.
pub fn line_of(text: &str, path: &str) -> Option<usize> {
    let doc = toml::de::DeTable::parse(text).ok()?;
    let mut table = doc.get_ref();
    let mut value: Option<&toml::Spanned<toml::de::DeValue<'_>>> = None;
    let mut found: Option<usize> = None;
    for segment in split_path(path) {
        match segment {
            Segment::Key(k) => {
                let current = match value.map(|v| v.get_ref()) {
                    None => Some(table),
                    Some(toml::de::DeValue::Table(t)) => Some(t),
                    _ => None,
                };
                let Some(t) = current else { break };
                let Some((key, v)) = t.iter().find(|(key, _)| key.get_ref().as_ref() == k) else {
                    break;
                };
                found = Some(key.span().start);
                table = t;
                value = Some(v);
            }
            Segment::Index(i) => {
                let Some(toml::de::DeValue::Array(items)) = value.map(|v| v.get_ref()) else {
                    break;
                };
                let Some(item) = items.get(i) else { break };
                found = Some(item.span().start);
                value = Some(item);
            }
        }
    }
    found.map(|offset| line_at(text, offset))
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn split_path(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let mut rest = part;
        let name_end = rest.find('[').unwrap_or(rest.len());
        if name_end > 0 {
            out.push(Segment::Key(&rest[..name_end]));
        }
        rest = &rest[name_end..];
        while let Some(close) = rest.find(']') {
            if let Ok(i) = rest[1..close].parse() {
                out.push(Segment::Index(i));
            }
            rest = &rest[close + 1..];
        }
    }
    out
}

/// The key a line sets (`[buzzbip]` then `password = "…"` gives `buzzbip.password`), read from
/// the text before `=` only; empty when the line sets none.
fn key_on_line(text: &str, line: usize) -> String {
    let mut table = String::new();
    let mut arrays: HashMap<String, usize> = HashMap::new();
    for (n, l) in text.lines().enumerate() {
        let l = l.trim();
        if n + 1 == line {
            let Some((key, _)) = l.split_once('=') else {
                return String::new();
            };
            let key = key.trim();
            let plain = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | '"'));
            if !plain || l.starts_with('[') {
                return String::new();
            }
            let key = key.replace([' ', '"'], "");
            return if table.is_empty() {
                key
            } else {
                format!("{table}.{key}")
            };
        }
        if let Some(name) = l.strip_prefix("[[").and_then(|r| r.split_once("]]")) {
            let name = name.0.trim().replace([' ', '"'], "");
            let index = arrays
                .entry(name.clone())
                .and_modify(|i| *i += 1)
                .or_insert(0);
            table = format!("{name}[{index}]");
        } else if let Some(name) = l.strip_prefix('[').and_then(|r| r.split_once(']')) {
            table = name.0.trim().replace([' ', '"'], "");
        }
    }
    String::new()
}

/// Deserialises `doc` (read from `text`), reporting every unknown key at once, then the first
/// other problem; `expanded` holds the paths filled from `${…}` (see [`expanded_paths`]).
pub fn deserialize_reporting_all<T: serde::de::DeserializeOwned>(
    mut doc: toml::Value,
    text: &str,
    expanded: &HashSet<String>,
) -> Result<T, Vec<TomlProblem>> {
    let mut problems = Vec::new();
    // Each pass drops the unknown key it met, so the next pass reaches the next one; bounded by
    // the number of keys in the document.
    loop {
        match serde_path_to_error::deserialize::<_, T>(doc.clone()) {
            Ok(value) if problems.is_empty() => return Ok(value),
            Ok(_) => return Err(problems),
            Err(e) => {
                let path = e.path().to_string();
                let key = if path == "." { String::new() } else { path };
                // The message alone: the error's Display adds "in `key`" on a line of its own.
                let message = e.into_inner().message().trim().to_owned();
                if let Some(field) = unknown_field(&message)
                    && remove_key(&mut doc, &key, field)
                {
                    let full = if key.is_empty() || key.ends_with(field) {
                        key.clone()
                    } else {
                        format!("{key}.{field}")
                    };
                    problems.push(type_problem(text, &full, &message, expanded));
                    // Found in the order serde visits them: told in the file's order.
                    problems.sort_by_key(|p| p.line);
                    continue;
                }
                problems.push(type_problem(text, &key, &message, expanded));
                return Err(problems);
            }
        }
    }
}

/// The field of serde's "unknown field `x`, expected …".
fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(&rest[..rest.find('`')?])
}

/// Removes `field` from the table at `path` (or at `path` minus its last part, when serde's
/// path already names the field); false when it is not there.
fn remove_key(doc: &mut toml::Value, path: &str, field: &str) -> bool {
    fn table_at<'a>(doc: &'a mut toml::Value, path: &str) -> Option<&'a mut toml::Table> {
        let mut v = doc;
        for segment in split_path(path) {
            v = match segment {
                Segment::Key(k) => v.as_table_mut()?.get_mut(k)?,
                Segment::Index(i) => v.as_array_mut()?.get_mut(i)?,
            };
        }
        v.as_table_mut()
    }
    if let Some(t) = table_at(doc, path)
        && t.remove(field).is_some()
    {
        return true;
    }
    let parent = match path.rfind('.') {
        Some(i) if path[i + 1..] == *field => &path[..i],
        None if path == field => "",
        _ => return false,
    };
    table_at(doc, parent).is_some_and(|t| t.remove(field).is_some())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{PROFILE, all, load};
    use super::*;

    #[test]
    fn a_syntax_error_on_a_secret_line_names_key_and_line_not_the_secret() {
        for (broken, key, line) in [
            ("password = \"hunter2-secret", "buzzbip.password", 10),
            ("password = hunter2-secret", "buzzbip.password", 10),
            ("password = \"hunter2-secret\" junk", "buzzbip.password", 10),
        ] {
            let errors = load(&PROFILE.replace("password = \"PASSWORD\"", broken), &|_| {
                None
            });
            let text = all(&errors);
            assert_eq!(errors.len(), 1, "{text}");
            assert!(!text.contains("hunter2"), "{text}");
            assert_eq!(errors[0].key, key, "{text}");
            assert!(
                errors[0]
                    .message
                    .starts_with(&format!("line {line}: not valid TOML")),
                "{text}"
            );
        }
        let errors = load(
            &PROFILE.replace(
                "secrets = [\"whook-secret-1\"]",
                "secrets = [\"whook-secret-1\" \"x\"]",
            ),
            &|_| None,
        );
        let text = all(&errors);
        assert!(!text.contains("whook-secret"), "{text}");
        assert!(text.contains("webhook.secrets: line 6:"), "{text}");
    }

    #[test]
    fn type_errors_on_secret_or_interpolated_keys_do_not_show_the_value() {
        let errors = load(
            &PROFILE.replace(
                "secrets = [\"whook-secret-1\"]",
                "secrets = \"whook-secret-1\"",
            ),
            &|_| None,
        );
        let text = all(&errors);
        assert!(!text.contains("whook-secret"), "{text}");
        assert!(
            text.contains("webhook.secrets: line 6: expected a sequence (the value is not shown)"),
            "{text}"
        );
        // A value from the environment, in a key that is not secret in itself.
        let errors = load(
            &PROFILE.replace("template_id = 1289", "template_id = \"${TEMPLATE}\""),
            &|n| (n == "TEMPLATE").then(|| "sk_live_from_env".to_owned()),
        );
        let text = all(&errors);
        assert!(!text.contains("sk_live"), "{text}");
        assert!(text.contains("notify[0].template_id: line 15:"), "{text}");
        // Other keys keep their value in the message: it helps and is not secret.
        let errors = load(
            &PROFILE.replace("template_id = 1289", "template_id = \"12a\""),
            &|_| None,
        );
        assert!(all(&errors).contains("\"12a\""), "{}", all(&errors));
    }

    #[test]
    fn every_unknown_key_is_reported_at_once() {
        let text = PROFILE
            .replace(
                "default_country = \"TN\"",
                "default_country = \"TN\"\ncolour = \"red\"",
            )
            .replace(
                "username = \"u\"",
                "username = \"u\"\nuser = \"x\"\npasword = \"hunter2\"",
            )
            + "tempalte = 3\n";
        let errors = load(&text, &|_| None);
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "colour",
                "buzzbip.user",
                "buzzbip.pasword",
                "notify[0].tempalte"
            ],
            "{}",
            all(&errors)
        );
        assert!(
            errors.iter().all(|e| e.message.contains("unknown field")),
            "{}",
            all(&errors)
        );
        assert!(
            errors[0].message.starts_with("line 4: "),
            "{}",
            all(&errors)
        );
        assert!(!all(&errors).contains("hunter2"));
        // Unknown keys and then the first other problem.
        let errors = load(
            &text.replace("template_id = 1289", "template_id = -5"),
            &|_| None,
        );
        assert_eq!(errors.len(), 5, "{}", all(&errors));
        assert_eq!(errors[4].key, "notify[0].template_id");
    }

    #[test]
    fn lines_of_keys() {
        let text = "a = 1\n[b]\nc = 2\n[[n]]\nx = 1\n[[n]]\nx = 2\ny.z = 3\n";
        assert_eq!(line_of(text, "a"), Some(1));
        assert_eq!(line_of(text, "b.c"), Some(3));
        assert_eq!(line_of(text, "n[1].x"), Some(7));
        assert_eq!(line_of(text, "n[1].y.z"), Some(8));
        assert_eq!(line_of(text, "b.missing"), Some(2));
        assert_eq!(key_on_line(text, 7), "n[1].x");
        assert_eq!(key_on_line(text, 8), "n[1].y.z");
        assert_eq!(key_on_line(text, 2), "");
    }
}
