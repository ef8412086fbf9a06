//! Helpers shared by the emulator's integration tests: a direct binary
//! upload in three requests, and bodies read as JSON.

#![allow(dead_code)]

use aem_emulator::Emulator;
use serde_json::Value;

pub const AUTH: &str = "Basic YWRtaW46YWRtaW4="; // admin:admin

/// Bodies as JSON (reqwest's `json` feature is not built here).
pub trait JsonBody {
    async fn json_value(self) -> Value;
}

impl JsonBody for reqwest::Response {
    async fn json_value(self) -> Value {
        serde_json::from_slice(&self.bytes().await.unwrap()).unwrap()
    }
}

/// `application/x-www-form-urlencoded` escaping of one value.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Uploads `data` as `/content/dam/<name>` by direct binary upload; returns the asset id.
pub async fn upload(client: &reqwest::Client, emulator: &Emulator, name: &str, data: &[u8]) -> String {
    let res = client
        .post(format!("{}/content/dam.initiateUpload.json", emulator.url()))
        .header("authorization", AUTH)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("fileName={}&fileSize={}", urlencode(name), data.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let answer: Value = res.json_value().await;
    let file = &answer["files"][0];
    let uri = file["uploadURIs"][0].as_str().unwrap();
    assert_eq!(client.put(uri).body(data.to_vec()).send().await.unwrap().status(), 201);
    let res = client
        .post(format!("{}{}", emulator.url(), answer["completeURI"].as_str().unwrap()))
        .header("authorization", AUTH)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "fileName={}&fileSize={}&mimeType=image%2Fjpeg&uploadToken={}",
            urlencode(name),
            data.len(),
            urlencode(file["uploadToken"].as_str().unwrap())
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json_value().await["assetId"].as_str().unwrap().to_string()
}
