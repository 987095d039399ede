//! The wire protocol: newline-delimited JSON, one request and one response per line, each
//! carrying the protocol version. Decoding never panics: whatever arrives becomes a request or
//! an error response.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The protocol version; a request with another version gets an error response.
pub const VERSION: u32 = 1;
/// The longest request line accepted, in bytes; a longer one is refused and the connection closed.
pub const MAX_REQUEST: usize = 64 * 1024;

/// What a client asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "kebab-case")]
pub enum Command {
    /// Is anyone there (answers `{"pong": true}`).
    Ping,
    /// The daemon's state (see `daemon status --format json`).
    Status,
    /// Something changed in the repository: re-read refs now (a hint hook sends this).
    Poke {
        #[serde(default)]
        hook: Option<String>,
    },
    /// Stop gracefully.
    Stop,
}

/// A request line: `{"v": 1, "cmd": "status"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub v: u32,
    pub command: Command,
}

impl Request {
    pub fn new(command: Command) -> Request {
        Request {
            v: VERSION,
            command,
        }
    }

    /// The request as one line, newline included.
    pub fn encode(&self) -> String {
        // A Command is plain data: serialising it cannot fail, and it is always an object.
        let mut value = serde_json::to_value(&self.command).unwrap_or(Value::Null);
        if let Some(object) = value.as_object_mut() {
            object.insert("v".into(), Value::from(self.v));
        }
        let mut line = value.to_string();
        line.push('\n');
        line
    }
}

/// Why a request was refused; the `code` field of an error response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("request is not valid JSON: {0}")]
    Malformed(String),
    #[error("request is longer than {MAX_REQUEST} bytes")]
    TooLarge,
    #[error("protocol version {found} is not supported (this daemon speaks {VERSION})")]
    Version { found: u64 },
    #[error("unknown or invalid request: {0}")]
    Unknown(String),
    #[error("connections from other users are refused")]
    Forbidden,
    #[error("`{command}` is refused from a process of an agent run: {why}")]
    FromARun { command: &'static str, why: String },
    #[error("the daemon is serving too many connections; try again")]
    Busy,
    #[error("{0}")]
    Internal(String),
}

impl ProtocolError {
    pub fn code(&self) -> &'static str {
        match self {
            ProtocolError::Malformed(_) => "malformed",
            ProtocolError::TooLarge => "too-large",
            ProtocolError::Version { .. } => "version",
            ProtocolError::Unknown(_) => "unknown-request",
            ProtocolError::Forbidden | ProtocolError::FromARun { .. } => "forbidden",
            ProtocolError::Busy => "busy",
            ProtocolError::Internal(_) => "internal",
        }
    }
}

/// A response line: `{"v":1,"ok":true,"result":…}` or `{"v":1,"ok":false,"error":{code,message}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub v: u32,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

impl Response {
    pub fn ok(result: Value) -> Response {
        Response {
            v: VERSION,
            ok: true,
            result: Some(result),
            error: None,
        }
    }

    pub fn error(err: &ProtocolError) -> Response {
        Response {
            v: VERSION,
            ok: false,
            result: None,
            error: Some(ErrorBody {
                code: err.code().to_string(),
                message: err.to_string(),
            }),
        }
    }

    /// The response as one line, newline included.
    pub fn encode(&self) -> String {
        // Values built from serde_json cannot fail to serialise.
        let mut line = serde_json::to_string(self).unwrap_or_default();
        line.push('\n');
        line
    }
}

/// Decodes one request line (without its newline). The version is checked before the command,
/// so a client of a newer protocol learns that rather than "unknown request". Fields a command
/// does not know are ignored: a later client may add optional ones within a version.
pub fn decode(line: &[u8]) -> Result<Request, ProtocolError> {
    if line.len() > MAX_REQUEST {
        return Err(ProtocolError::TooLarge);
    }
    // A key given twice is refused rather than letting the last one win silently: two parsers
    // (a proxy, a log reader) could otherwise read two different requests from one line.
    let Unique(value) =
        serde_json::from_slice(line).map_err(|e| ProtocolError::Malformed(e.to_string()))?;
    let Value::Object(mut object) = value else {
        return Err(ProtocolError::Unknown("expected a JSON object".into()));
    };
    match object.remove("v").as_ref().and_then(Value::as_u64) {
        Some(v) if v == u64::from(VERSION) => {}
        Some(found) => return Err(ProtocolError::Version { found }),
        None => {
            return Err(ProtocolError::Unknown(
                "missing protocol version `v`".into(),
            ));
        }
    }
    let command = serde_json::from_value(Value::Object(object))
        .map_err(|e| ProtocolError::Unknown(e.to_string()))?;
    Ok(Request::new(command))
}

/// A JSON value whose objects have no key twice.
struct Unique(Value);

impl<'de> serde::Deserialize<'de> for Unique {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueVisitor).map(Unique)
    }
}

struct UniqueVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Unique(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some((key, Unique(value))) = map.next_entry::<String, Unique>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("duplicate key `{key}`")));
            }
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_given_twice_is_malformed() {
        let line = br#"{"v":1,"cmd":"status","cmd":"stop"}"#;
        match decode(line) {
            Err(ProtocolError::Malformed(why)) => {
                assert!(why.contains("duplicate key `cmd`"), "{why}")
            }
            other => panic!("{other:?}"),
        }
        let nested = br#"{"v":1,"cmd":"status","x":{"a":1,"a":2}}"#;
        assert!(matches!(decode(nested), Err(ProtocolError::Malformed(_))));
        assert!(decode(br#"{"v":1,"cmd":"status","x":[{"a":1},{"a":2}]}"#).is_ok());
    }

    #[test]
    fn round_trips_requests() {
        for command in [
            Command::Ping,
            Command::Status,
            Command::Stop,
            Command::Poke {
                hook: Some("post-commit".into()),
            },
        ] {
            let line = Request::new(command).encode();
            let decoded = decode(line.trim_end().as_bytes()).unwrap();
            assert_eq!(decoded, Request::new(decoded.command.clone()));
        }
        assert_eq!(
            Request::new(Command::Status).encode(),
            "{\"cmd\":\"status\",\"v\":1}\n"
        );
    }

    #[test]
    fn refuses_what_it_cannot_serve() {
        let code = |line: &[u8]| decode(line).unwrap_err().code();
        assert_eq!(code(b"not json"), "malformed");
        assert_eq!(code(b"[1,2]"), "unknown-request");
        assert_eq!(code(br#"{"cmd":"status"}"#), "unknown-request");
        assert_eq!(code(br#"{"v":2,"cmd":"status"}"#), "version");
        assert_eq!(
            code(br#"{"v":1,"cmd":"launch-missiles"}"#),
            "unknown-request"
        );
        assert_eq!(code(br#"{"v":1,"cmd":"poke","hook":7}"#), "unknown-request");
        assert!(decode(br#"{"v":1,"cmd":"status","later":1}"#).is_ok());
        assert_eq!(code(&vec![b' '; MAX_REQUEST + 1]), "too-large");
    }

    /// A small deterministic generator, so the fuzz cases are the same on every run.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn json(&mut self, depth: u32) -> Value {
            let keys = ["v", "cmd", "hook", "x", "", "\u{1F600}"];
            match self.next() % if depth > 3 { 5 } else { 7 } {
                0 => Value::Null,
                1 => Value::Bool(self.next().is_multiple_of(2)),
                2 => serde_json::json!(self.next() as i64 % 4 - 1),
                3 => Value::String(
                    ["status", "ping", "stop", "poke", "x"][self.next() as usize % 5].into(),
                ),
                4 => serde_json::json!(f64::from(self.next() as u32) / 7.0),
                5 => (0..self.next() % 4).map(|_| self.json(depth + 1)).collect(),
                _ => {
                    let mut map = serde_json::Map::new();
                    for _ in 0..self.next() % 4 {
                        let key = keys[self.next() as usize % keys.len()];
                        map.insert(key.into(), self.json(depth + 1));
                    }
                    Value::Object(map)
                }
            }
        }
    }

    #[test]
    fn random_bytes_and_random_json_never_panic() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let len = (rng.next() % 200) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if let Err(err) = decode(&bytes) {
                let response = Response::error(&err).encode();
                assert!(serde_json::from_str::<Response>(response.trim_end()).is_ok());
            }
        }
        for _ in 0..20_000 {
            let value = rng.json(0);
            let line = serde_json::to_vec(&value).unwrap();
            match decode(&line) {
                Ok(request) => assert_eq!(request.v, VERSION),
                Err(err) => assert!(!Response::error(&err).encode().is_empty()),
            }
        }
    }
}
