//! The error classes of the npm package (`js/errors.js`, `js/errors.d.ts`) against the one table
//! of error kinds, `fieldstream::core::ERROR_KINDS`: every class it names exists, is made by
//! `makeError`, is declared in the types and re-exported by `js/index.d.ts`; no other class
//! exists; the `ErrorCode` type lists exactly its codes; an error's cause reaches every class.

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
fn errors_d_ts_declares_the_tables_classes_and_codes() {
    let source = read("js/errors.d.ts");
    let declared = names_after(&source, "export declare class ");
    assert_eq!(declared, table_classes());
    let start = source
        .find("export type ErrorCode =")
        .expect("errors.d.ts declares ErrorCode");
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
fn index_d_ts_re_exports_the_error_classes_and_codes() {
    let source = read("js/index.d.ts");
    assert!(
        source.contains("export type { ErrorCode } from \"./errors.js\";"),
        "index.d.ts re-exports ErrorCode"
    );
    let end = source
        .find("\n} from \"./errors.js\";")
        .expect("index.d.ts re-exports the error classes");
    let start = source[..end]
        .rfind("\nexport {")
        .expect("the re-export opens with `export {`");
    let re_exported: BTreeSet<String> = source[start + "\nexport {".len()..end]
        .split(',')
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .collect();
    assert_eq!(re_exported, table_classes());
    let declared = names_after(&source, "export declare class ");
    assert!(
        declared.iter().all(|class| !class.ends_with("Error")),
        "index.d.ts declares no error class of its own: {declared:?}"
    );
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
        Error::Storage(String::new().into()),
        Error::StorageFull(String::new().into()),
        Error::Codec(String::new().into()),
        Error::Network(String::new().into()),
        Error::Unauthorized(String::new().into()),
        Error::Crypto(String::new().into()),
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

#[test]
fn errors_with_a_failure_under_them_carry_it_as_cause() {
    use fieldstream::core::{Cause, Detail, Error};
    let cause = Cause::Http {
        status: 503,
        body: "busy".into(),
    };
    let detail = || Detail::caused("failed", cause.clone());
    let caused = [
        Error::Storage(detail()),
        Error::StorageFull(detail()),
        Error::Codec(detail()),
        Error::Network(detail()),
        Error::Unauthorized(detail()),
        Error::Crypto(detail()),
    ];
    for error in caused {
        assert_eq!(error.cause(), Some(&cause), "{error:?}");
        assert_eq!(error.to_string().matches("failed").count(), 1, "{error}");
    }
    assert_eq!(Error::Storage("closed".into()).cause(), None);
    assert_eq!(Error::NotFound("x".into()).cause(), None);
    let parse = serde_json::from_str::<u32>("{").unwrap_err();
    assert!(matches!(
        Error::from(parse).cause(),
        Some(Cause::Described(_))
    ));

    let source = read("js/errors.js");
    let cases: Vec<&str> = source
        .lines()
        .filter(|line| line.trim_start().starts_with("case \"") || line.contains("default:"))
        .collect();
    assert!(!cases.is_empty());
    for case in cases {
        assert!(
            case.contains(", options)"),
            "makeError passes the cause: {case}"
        );
    }
    assert!(
        read("js/errors.d.ts").contains("cause?: unknown;"),
        "FieldstreamError declares cause"
    );
}
