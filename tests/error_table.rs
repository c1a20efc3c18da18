//! The error classes of the npm package (`js/errors.js`, `js/index.d.ts`) against the one table
//! of error kinds, `fieldstream::core::ERROR_KINDS`: every class it names exists, is made by
//! `makeError` and is declared in the types; no other class exists; and the `ErrorCode` type
//! lists exactly its codes.

use std::collections::BTreeSet;

use fieldstream::core::ERROR_KINDS;

fn read(path: &str) -> String {
    let path = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("reading {path}: {error}"))
}

/// The names `X` of every line `{prefix}X{…}` of `source`.
fn names_after(source: &str, prefix: &str) -> BTreeSet<String> {
    source
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix(prefix))
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

fn table_classes() -> BTreeSet<String> {
    ERROR_KINDS
        .iter()
        .map(|(_, class)| class.to_string())
        .collect()
}

#[test]
fn errors_js_has_exactly_the_tables_classes_and_makes_each() {
    let source = read("js/errors.js");
    let classes = names_after(&source, "export class ");
    assert_eq!(classes, table_classes());
    let made = names_after(&source, "case \"");
    let expected: BTreeSet<String> = table_classes()
        .into_iter()
        .filter(|class| class != "FieldstreamError")
        .collect();
    assert_eq!(made, expected, "makeError has a case for every subclass");
}

#[test]
fn index_d_ts_declares_the_tables_classes_and_codes() {
    let source = read("js/index.d.ts");
    let declared: BTreeSet<String> = names_after(&source, "export declare class ")
        .into_iter()
        .filter(|class| class.ends_with("Error"))
        .collect();
    assert_eq!(declared, table_classes());
    let start = source
        .find("export type ErrorCode =")
        .expect("index.d.ts declares ErrorCode");
    let union = &source[start..start + source[start..].find(';').unwrap()];
    let codes: BTreeSet<String> = union
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    let expected: BTreeSet<String> = ERROR_KINDS
        .iter()
        .filter(|(code, _)| *code != "domain")
        .map(|(code, _)| code.to_string())
        .collect();
    assert_eq!(codes, expected);
}

#[test]
fn every_error_variant_has_a_row_in_the_table() {
    use fieldstream::core::{DomainError, Error, ExpectedVersion, Thrown};
    let errors = [
        Error::Conflict {
            stream: "s".into(),
            expected: ExpectedVersion::Any,
            actual: 0,
        },
        Error::Domain(DomainError::new("code", "message")),
        Error::NotFound(String::new()),
        Error::InvalidInput(String::new()),
        Error::Storage(String::new()),
        Error::StorageFull(String::new()),
        Error::Codec(String::new()),
        Error::Network(String::new()),
        Error::Unauthorized(String::new()),
        Error::Crypto(String::new()),
        Error::Thrown(Thrown {
            what: "Order.decide".into(),
            description: "Error: boom".into(),
            handle: 1,
        }),
    ];
    for error in errors {
        assert!(
            ERROR_KINDS.iter().any(|(code, _)| *code == error.code()),
            "{} has a row",
            error.code()
        );
    }
}
