//! The check of a parsed configuration file against the declared keys (`super::keys`).
//!
//! A file is parsed once into toml's spanned document; `check` walks it against
//! [`KEYS`](super::keys::KEYS) and reports *every* problem as a `ConfigError` with its exact
//! position and dotted key: unknown tables and keys (with "did you mean"), wrong types (with
//! an example of the right form), values out of range, empty paths, a `[cache.remote]`
//! without `type`. Only a document with no problem is then applied (`super::apply_text`), so
//! the layers never have to explain anything. The map of key positions it fills lets later
//! checks (remote fields, effective settings) point at the line of any key.

use std::path::Path;

use toml::de::{DeTable, DeValue};

use super::error::{ConfigError, Positions, suggest};
use super::keys::{self, Key, Ty, int_value, number_value};

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn found(v: &DeValue<'_>) -> String {
    match v {
        DeValue::String(s) => format!("the string \"{s}\""),
        DeValue::Integer(i) => format!("the integer {}", i.as_str()),
        DeValue::Float(x) => format!("the float {}", x.as_str()),
        DeValue::Boolean(b) => format!("the boolean {b}"),
        DeValue::Datetime(d) => format!("the date {d}"),
        DeValue::Array(_) => "a list".into(),
        DeValue::Table(_) => "a table".into(),
    }
}

fn quoted(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| format!("\"{w}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why `v` is not a valid `ty`, if it is not.
fn check_value(ty: Ty, v: &DeValue<'_>) -> Option<String> {
    let expected = |what: &str| Some(format!("expected {what}, found {}", found(v)));
    match ty {
        Ty::Bool => (!v.is_bool()).then(|| expected("true or false")).flatten(),
        Ty::BoolOrAuto => (!v.is_bool() && v.as_str() != Some("auto"))
            .then(|| expected("true, false or \"auto\""))
            .flatten(),
        Ty::Text => (!v.is_str()).then(|| expected("a string")).flatten(),
        Ty::Path => match v.as_str() {
            None => expected("a path (a string)"),
            Some("") => Some("must not be empty: name a file or directory".into()),
            Some(_) => None,
        },
        Ty::PathList => match v.as_array() {
            None => expected("a list of paths"),
            Some(a) => a.iter().find_map(|e| check_value(Ty::Path, e.get_ref())),
        },
        Ty::Enum(words) => match v.as_str() {
            Some(s) if words.contains(&s) => None,
            Some(s) => Some(format!(
                "unknown value \"{s}\", expected one of {}",
                quoted(words)
            )),
            None => expected(&format!("one of {}", quoted(words))),
        },
        Ty::TextList => match v.as_array() {
            Some(a) if a.iter().all(|e| e.get_ref().is_str()) => None,
            _ => expected("a list of strings"),
        },
        Ty::EnumList(words) => match v.as_array() {
            None => expected(&format!("a list of {}", quoted(words))),
            Some(a) => a
                .iter()
                .find_map(|e| check_value(Ty::Enum(words), e.get_ref())),
        },
        Ty::Number {
            min_exclusive,
            max,
            unit,
        } => match number_value(v) {
            None => expected(&format!("a number of {unit}")),
            Some(n) if n.is_finite() && n > min_exclusive && n <= max => None,
            Some(_) => Some(format!(
                "must be a number of {unit} above {min_exclusive} and at most {max}"
            )),
        },
        Ty::Int { min, max, unit } => match int_value(v) {
            None if v.is_integer() => Some(format!("must be between {min} and {max}")),
            None => expected("an integer"),
            Some(n) if (min..=max).contains(&n) => None,
            Some(_) => Some(format!(
                "must be between {min} and {max}{}",
                if unit.is_empty() {
                    String::new()
                } else {
                    format!(" {unit}")
                }
            )),
        },
        Ty::FractionOr(word) => match (number_value(v), v.as_str()) {
            (Some(n), _) if (0.0..=1.0).contains(&n) => None,
            (Some(_), _) => Some("must be a fraction from 0.0 to 1.0".into()),
            (None, Some(s)) if s == word => None,
            (None, Some(s)) => Some(format!(
                "unknown value \"{s}\", expected a number from 0.0 to 1.0 or \"{word}\""
            )),
            (None, None) => expected(&format!("a number from 0.0 to 1.0, or \"{word}\"")),
        },
        Ty::TextOrList => match v {
            DeValue::String(_) => None,
            DeValue::Array(a) if a.iter().all(|e| e.get_ref().is_str()) => None,
            _ => expected("a string, or a list of strings"),
        },
        Ty::TextMap => match v.as_table() {
            None => expected("a table of strings, e.g. { key = \"value\" }"),
            Some(t) => t.iter().find_map(|(k, e)| {
                (!e.get_ref().is_str()).then(|| {
                    format!(
                        "`{}`: expected a string, found {}",
                        k.get_ref(),
                        found(e.get_ref())
                    )
                })
            }),
        },
        Ty::Table => (!v.is_table()).then(|| expected("a table")).flatten(),
    }
}

/// Where the problems of one document go: its file, its text, and the problems found so
/// far with the byte offset each is at.
struct Walk<'a> {
    path: &'a Path,
    text: &'a str,
    out: Vec<(usize, ConfigError)>,
    pos: Positions,
}

impl Walk<'_> {
    fn push(&mut self, offset: usize, key: String, message: String, hint: String) {
        let e = ConfigError::at(self.path, self.text, Some(offset), Some(key), message, hint);
        self.out.push((offset, e));
    }

    fn table(&mut self, table: &DeTable<'_>, prefix: &str) {
        for (k, v) in table {
            let name: &str = k.get_ref();
            let key = join(prefix, name);
            self.pos.insert(key.clone(), k.span());
            let Some(decl) = keys::get(&key) else {
                let names: Vec<&str> = keys::children(prefix).map(Key::short).collect();
                let place = if prefix.is_empty() {
                    "the file".to_string()
                } else {
                    format!("[{prefix}]")
                };
                let what = if v.get_ref().is_table() {
                    "table"
                } else {
                    "key"
                };
                let hint = suggest(
                    name,
                    &names,
                    &format!("remove it; {place} takes {}", names.join(", ")),
                );
                self.push(
                    k.span().start,
                    key,
                    format!("unknown {what} `{name}`"),
                    hint,
                );
                continue;
            };
            if let Some(why) = check_value(decl.ty, v.get_ref()) {
                let example = format!("write it as `{}`", decl.example);
                let hint = match (decl.ty, v.get_ref()) {
                    (Ty::Enum(words), DeValue::String(s)) => suggest(s, words, &example),
                    _ => example,
                };
                self.push(v.span().start, key, why, hint);
                continue;
            }
            if let (Ty::Table, Some(t)) = (decl.ty, v.get_ref().as_table()) {
                self.table(t, &key);
                let required = keys::KEYS.iter().filter(|k| k.required);
                for req in required.filter(|k| k.table() == key) {
                    if !t.iter().any(|(k, _)| k.get_ref() == req.short()) {
                        let choices = match req.ty {
                            Ty::Enum(words) => format!(" (one of {})", words.join(", ")),
                            _ => String::new(),
                        };
                        self.push(
                            k.span().start,
                            req.name.to_string(),
                            format!("missing in [{key}]"),
                            format!("add `{}` to [{key}]{choices}", req.example),
                        );
                    }
                }
            }
        }
    }
}

/// Every problem of a parsed document of file `path` (text `text`), in the file's order,
/// and where each key is written.
pub(crate) fn check(path: &Path, text: &str, doc: &DeTable<'_>) -> (Vec<ConfigError>, Positions) {
    let mut w = Walk {
        path,
        text,
        out: Vec::new(),
        pos: Positions::new(),
    };
    w.table(doc, "");
    w.out.sort_by_key(|(offset, _)| *offset);
    (w.out.into_iter().map(|(_, e)| e).collect(), w.pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<(String, String, String)> {
        let doc = DeTable::parse(text).expect("toml");
        check(Path::new("f.toml"), text, doc.get_ref())
            .0
            .into_iter()
            .map(|p| {
                (
                    p.key.unwrap_or_default(),
                    p.message,
                    p.hint.unwrap_or_default(),
                )
            })
            .collect()
    }

    #[test]
    fn every_problem_with_its_own_key() {
        let p = problems(
            "[cach]\ntool = 1\n\n[cache]\ntol = \"x\"\ntool = 1\nsize_gb = 1e300\ndir = \"\"\n\n[stats]\ntrace_max_mb = 0\n\n[cache.remote]\nendpoint = 5\n",
        );
        let keys: Vec<&str> = p.iter().map(|(k, _, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "cach",
                "cache.tol",
                "cache.tool",
                "cache.size_gb",
                "cache.dir",
                "stats.trace_max_mb",
                "cache.remote.type",
                "cache.remote.endpoint",
            ],
            "{p:#?}"
        );
        assert_eq!(p[0].1, "unknown table `cach`");
        assert_eq!(p[0].2, "did you mean `cache`?");
        assert_eq!(p[1].2, "did you mean `tool`?");
        assert!(p[2].1.contains("expected one of \"auto\""), "{}", p[2].1);
        assert_eq!(p[2].2, "write it as `tool = \"auto\"`");
        assert!(p[3].1.contains("at most 1048576"), "{}", p[3].1);
        assert!(p[5].1.contains("between 1 and"), "{}", p[5].1);
        assert_eq!(p[6].1, "missing in [cache.remote]");
        assert!(
            p[7].1.contains("a string, or a list of strings"),
            "{}",
            p[7].1
        );
    }

    #[test]
    fn dotted_keys_and_unknown_top_level_tables() {
        let p = problems("cache.tol = 1\n[frobnicate]\nengine = \"x\"\n");
        assert_eq!(p[0].0, "cache.tol");
        assert_eq!(p[1].0, "frobnicate");
        assert_eq!(p[1].1, "unknown table `frobnicate`");
        assert!(
            p[1].2.starts_with("remove it; the file takes cache, stats"),
            "{}",
            p[1].2
        );
    }

    #[test]
    fn numbers() {
        assert!(problems("[cache]\nsize_gb = 0.5\n").is_empty());
        assert!(problems("[cache]\nsize_gb = 1_000\n").is_empty());
        assert_eq!(problems("[cache]\nsize_gb = 0\n").len(), 1);
        assert_eq!(problems("[cache]\nsize_gb = -1\n").len(), 1);
        assert_eq!(problems("[cache]\nsize_gb = inf\n").len(), 1);
        assert_eq!(
            problems("[cache.remote]\ntype = \"redis\"\ndb = 0x10\n").len(),
            0
        );
        assert_eq!(problems("[ccache]\ncompression_level = -5\n").len(), 0);
    }
}
