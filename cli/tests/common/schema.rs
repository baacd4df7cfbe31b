//! A validator for the part of JSON Schema (2020-12) that `docs/schema/keyroll-output-v1.json` uses, so the CLI
//! suites can check real output against the published schema without a schema library. A keyword it does not
//! know fails the test instead of being skipped: the schema cannot silently outgrow its check.

use std::path::PathBuf;

use serde_json::Value;

pub struct Schema {
    root: Value,
}

/// The schema file, as published.
pub fn schema_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/schema/keyroll-output-v1.json")
}

impl Schema {
    pub fn load() -> Schema {
        let text = std::fs::read_to_string(schema_path()).expect("read the schema");
        Schema {
            root: serde_json::from_str(&text).expect("the schema is JSON"),
        }
    }

    /// Every way `doc` breaks the schema (empty when it conforms).
    pub fn errors(&self, doc: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        self.check(&self.root, doc, "$", &mut errors);
        errors
    }

    #[track_caller]
    pub fn assert_valid(&self, doc: &Value, what: &str) {
        let errors = self.errors(doc);
        assert!(
            errors.is_empty(),
            "{what}: the document does not match docs/schema/keyroll-output-v1.json:\n  {}\n{doc:#}",
            errors.join("\n  ")
        );
    }

    fn resolve(&self, reference: &str) -> &Value {
        let name = reference
            .strip_prefix("#/$defs/")
            .unwrap_or_else(|| panic!("unsupported $ref {reference}"));
        self.root["$defs"]
            .get(name)
            .unwrap_or_else(|| panic!("no $defs/{name}"))
    }

    fn check(&self, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
        let Some(keywords) = schema.as_object() else {
            panic!("a schema must be an object at {at}: {schema}");
        };
        for (key, arg) in keywords {
            match key.as_str() {
                "$schema" | "$id" | "$defs" | "title" | "description" => {}
                "$ref" => self.check(self.resolve(arg.as_str().unwrap()), v, at, errors),
                "type" => {
                    let types: Vec<&str> = match arg {
                        Value::String(t) => vec![t.as_str()],
                        Value::Array(ts) => ts.iter().map(|t| t.as_str().unwrap()).collect(),
                        _ => panic!("type at {at}"),
                    };
                    if !types.iter().any(|t| is_type(v, t)) {
                        errors.push(format!("{at}: {v} is not of type {types:?}"));
                    }
                }
                "const" => {
                    if v != arg {
                        errors.push(format!("{at}: {v} is not {arg}"));
                    }
                }
                "enum" => {
                    if !arg.as_array().unwrap().contains(v) {
                        errors.push(format!("{at}: {v} is not one of {arg}"));
                    }
                }
                "pattern" => {
                    if let Some(s) = v.as_str()
                        && !matches_pattern(arg.as_str().unwrap(), s)
                    {
                        errors.push(format!("{at}: {s:?} does not match {arg}"));
                    }
                }
                "minimum" => {
                    if let Some(n) = v.as_f64()
                        && n < arg.as_f64().unwrap()
                    {
                        errors.push(format!("{at}: {n} < {arg}"));
                    }
                }
                "minItems" => {
                    if let Some(a) = v.as_array()
                        && (a.len() as u64) < arg.as_u64().unwrap()
                    {
                        errors.push(format!("{at}: fewer than {arg} items"));
                    }
                }
                "required" => {
                    if let Some(o) = v.as_object() {
                        for name in arg.as_array().unwrap() {
                            let name = name.as_str().unwrap();
                            if !o.contains_key(name) {
                                errors.push(format!("{at}: {name} is missing"));
                            }
                        }
                    }
                }
                "properties" => {
                    if let Some(o) = v.as_object() {
                        for (name, sub) in arg.as_object().unwrap() {
                            if let Some(value) = o.get(name) {
                                self.check(sub, value, &format!("{at}.{name}"), errors);
                            }
                        }
                    }
                }
                "additionalProperties" => {
                    let allowed = arg.as_bool().unwrap_or_else(|| {
                        panic!("additionalProperties must be a boolean at {at}")
                    });
                    if let (false, Some(o)) = (allowed, v.as_object()) {
                        let known = keywords.get("properties").and_then(Value::as_object);
                        for name in o.keys() {
                            if !known.is_some_and(|k| k.contains_key(name)) {
                                errors.push(format!("{at}: {name} is not a documented field"));
                            }
                        }
                    }
                }
                "items" => {
                    if let Some(a) = v.as_array() {
                        for (i, item) in a.iter().enumerate() {
                            self.check(arg, item, &format!("{at}[{i}]"), errors);
                        }
                    }
                }
                "anyOf" => {
                    let mut best: Option<Vec<String>> = None;
                    for sub in arg.as_array().unwrap() {
                        let mut e = Vec::new();
                        self.check(sub, v, at, &mut e);
                        if e.is_empty() {
                            best = None;
                            break;
                        }
                        // The branch for this document's command is the one to explain.
                        let weight = |e: &[String]| {
                            e.len()
                                + 1000 * usize::from(e.iter().any(|m| m.starts_with("$.command")))
                        };
                        if best.as_ref().is_none_or(|b| weight(&e) < weight(b)) {
                            best = Some(e);
                        }
                    }
                    if let Some(e) = best {
                        errors.push(format!(
                            "{at}: matches none of anyOf; the closest fails: {}",
                            e.join("; ")
                        ));
                    }
                }
                other => {
                    panic!("the schema uses {other:?} at {at}, which this check does not know")
                }
            }
        }
    }
}

fn is_type(v: &Value, t: &str) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        _ => panic!("unknown type {t}"),
    }
}

/// `^…$` patterns of literal characters and `[…]` classes (ranges allowed), each optionally repeated `{n}`
/// times: all the schema's patterns need.
pub fn matches_pattern(pattern: &str, s: &str) -> bool {
    let body = pattern
        .strip_prefix('^')
        .and_then(|p| p.strip_suffix('$'))
        .unwrap_or_else(|| panic!("pattern {pattern} must be anchored with ^ and $"));
    let p: Vec<char> = body.chars().collect();
    let mut atoms: Vec<(Vec<(char, char)>, usize)> = Vec::new();
    let mut i = 0;
    while i < p.len() {
        let mut class = Vec::new();
        if p[i] == '[' {
            i += 1;
            while p[i] != ']' {
                if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|c| *c != ']') {
                    class.push((p[i], p[i + 2]));
                    i += 3;
                } else {
                    class.push((p[i], p[i]));
                    i += 1;
                }
            }
            i += 1;
        } else {
            assert!(
                !"\\.*+?(){}|".contains(p[i]),
                "unsupported pattern syntax in {pattern}"
            );
            class.push((p[i], p[i]));
            i += 1;
        }
        let mut count = 1;
        if p.get(i) == Some(&'{') {
            let end = i + p[i..].iter().position(|c| *c == '}').unwrap();
            count = p[i + 1..end].iter().collect::<String>().parse().unwrap();
            i = end + 1;
        }
        atoms.push((class, count));
    }
    let chars: Vec<char> = s.chars().collect();
    let mut pos = 0;
    for (class, count) in atoms {
        for _ in 0..count {
            let Some(c) = chars.get(pos) else {
                return false;
            };
            if !class.iter().any(|(lo, hi)| lo <= c && c <= hi) {
                return false;
            }
            pos += 1;
        }
    }
    pos == chars.len()
}
