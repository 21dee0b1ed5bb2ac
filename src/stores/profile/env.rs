//! `${NAME}` in a TOML document (a profile or the settings file), filled from the environment
//! before the document is deserialised, and a record of which values came from it: those may be
//! secrets even under keys that do not look secret, so errors must not show them.

use std::collections::HashSet;

/// Replaces `${NAME}` in every string of the document; `lookup` reads the environment. Errors
/// name the key path of the value that could not be filled.
pub fn interpolate(
    value: &mut toml::Value,
    path: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<(String, String)>,
) {
    match value {
        toml::Value::String(s) => match interpolate_str(s, lookup) {
            Ok(filled) => *s = filled,
            Err(msg) => errors.push((path.to_owned(), msg)),
        },
        toml::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate(item, &format!("{path}[{i}]"), lookup, errors);
            }
        }
        toml::Value::Table(table) => {
            for (k, v) in table.iter_mut() {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                interpolate(v, &child, lookup, errors);
            }
        }
        _ => {}
    }
}

fn interpolate_str(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| "unclosed \"${\"".to_owned())?;
        let name = &after[..end];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            // Not the name itself: in a password, "${" may be part of the secret.
            return Err(
                "\"${…}\" must hold an environment variable name (A-Z, a-z, 0-9 and _)".to_owned(),
            );
        }
        match lookup(name) {
            Some(v) if !v.is_empty() => out.push_str(&v),
            _ => return Err(format!("environment variable {name} is not set")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The paths (`a.b[0]`, as [`interpolate`] names them) of the strings holding `${`, whose
/// values after interpolation may be secrets from the environment.
pub fn expanded_paths(value: &toml::Value, path: &str, out: &mut HashSet<String>) {
    match value {
        toml::Value::String(s) if s.contains("${") => {
            out.insert(path.to_owned());
        }
        toml::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                expanded_paths(item, &format!("{path}[{i}]"), out);
            }
        }
        toml::Value::Table(table) => {
            for (k, v) in table {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                expanded_paths(v, &child, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_fills_and_names_missing_variables() {
        let mut v: toml::Value =
            toml::from_str("a = \"${X}-${Y}\"\n[b]\nlist = [\"ok\", \"${MISSING}\"]\n").unwrap();
        let lookup = |n: &str| match n {
            "X" => Some("1".to_owned()),
            "Y" => Some("two".to_owned()),
            _ => None,
        };
        let mut errors = Vec::new();
        interpolate(&mut v, "", &lookup, &mut errors);
        assert_eq!(v["a"].as_str(), Some("1-two"));
        assert_eq!(
            errors,
            [(
                "b.list[1]".to_owned(),
                "environment variable MISSING is not set".to_owned()
            )]
        );
    }
}
