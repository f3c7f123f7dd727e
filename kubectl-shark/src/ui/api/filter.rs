//! `POST /api/check` (a filter checked as it is typed) and `GET /api/fields` (what it may name).

use axum::Json;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use shark_store::{INDEXED_COLUMNS, entry_schema};

use super::common::ApiError;

/// `{"kfl": "…"}`.
#[derive(Debug, Deserialize)]
pub struct CheckRequest {
    /// The filter as typed.
    #[serde(default)]
    kfl: String,
}

/// `{ok: true, plan, readAs, warnings}` for a filter that compiles (the plan as `query --explain`
/// prints it, how KFL2 names were read, and warnings as diagnostics), else
/// `{ok: false, error, diagnostics: [{code, message, label, help, start, end}]}` with `start` and
/// `end` in UTF-16 code units, as the browser indexes the text.
pub async fn check(Json(request): Json<CheckRequest>) -> Json<Value> {
    if request.kfl.trim().is_empty() {
        return Json(json!({ "ok": true, "plan": "no filter: every entry in the window" }));
    }
    Json(match kfl::compile(&request.kfl, &entry_schema()) {
        Ok(filter) => json!({ "ok": true, "plan": filter.plan(&INDEXED_COLUMNS).to_string(),
            "readAs": filter.read_as(),
            "warnings": items(&request.kfl, filter.warning_items()) }),
        Err(diagnostics) => {
            json!({ "ok": false, "error": diagnostics.to_string(), "diagnostics": items(&request.kfl, diagnostics.items()) })
        }
    })
}

/// A filter refused where it was to run: 400 with the same diagnostics `check` gives.
pub fn refused(source: &str, diagnostics: &kfl::Diagnostics) -> ApiError {
    let mut error = ApiError::new(StatusCode::BAD_REQUEST, diagnostics);
    error.body["diagnostics"] = items(source, diagnostics.items());
    error
}

fn items(source: &str, diagnostics: &[kfl::Diagnostic]) -> Value {
    diagnostics
        .iter()
        .map(|d| {
            let (start, end) = d.span.utf16(source);
            json!({"code": d.code.as_str(), "message": d.message, "label": d.label, "help": d.help,
                   "start": start, "end": end})
        })
        .collect()
}

/// Every field a filter can name with its type, its other names (KFL2's variables), the protocol
/// words, functions and methods (as `kubectl shark fields` lists them), for completion.
pub async fn fields() -> Json<Value> {
    let schema = entry_schema();
    let fields: Vec<Value> = schema
        .fields()
        .iter()
        .map(|(path, ty)| json!({"path": path, "type": ty.describe()}))
        .collect();
    let aliases: Vec<Value> = schema
        .aliases
        .iter()
        .map(|alias| json!({"name": alias.name, "type": alias.ty, "means": alias.target}))
        .collect();
    let (functions, methods) = kfl::calls();
    Json(
        json!({"fields": fields, "aliases": aliases, "protocols": kfl::PROTOCOL_WORDS, "functions": functions, "methods": methods}),
    )
}
