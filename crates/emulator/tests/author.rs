//! The Assets Author API routes over real sockets: assets uploaded through
//! direct binary upload and the create-asset servlet, their metadata with
//! ETags, conditional requests, JSON Patch, deletes with jobs, the API-key
//! allow-list, problem details, faults, and metadata kept by `dir` storage
//! across a restart.

use aem_emulator::{Config, Emulator};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

mod common;

use common::{upload, JsonBody, AUTH};
const KEY: &str = "client-1";

async fn start(config: Value) -> Emulator {
    let mut config = config;
    if config.get("author").is_none() {
        config["author"] = json!({"apiKeys": [KEY]});
    }
    Emulator::start(Config::from_json(config).unwrap()).await.unwrap()
}

/// One Author API request with credentials and the registered key.
fn call(client: &reqwest::Client, emulator: &Emulator, method: Method, path: &str) -> reqwest::RequestBuilder {
    client
        .request(method, format!("{}{path}", emulator.url()))
        .header("authorization", AUTH)
        .header("x-api-key", KEY)
        .header("x-adobe-accept-experimental", "1")
}

fn metadata_path(id: &str) -> String {
    format!("/adobe/assets/{id}/metadata")
}

async fn patch(
    client: &reqwest::Client,
    emulator: &Emulator,
    id: &str,
    if_match: Option<&str>,
    ops: Value,
) -> reqwest::Response {
    let mut req =
        call(client, emulator, Method::PATCH, &metadata_path(id)).header("content-type", "application/json-patch+json");
    if let Some(tag) = if_match {
        req = req.header("if-match", tag);
    }
    req.body(ops.to_string()).send().await.unwrap()
}

fn etag(res: &reqwest::Response) -> String {
    res.headers()["etag"].to_str().unwrap().to_string()
}

async fn problem(res: reqwest::Response, status: u16) -> Value {
    assert_eq!(res.status(), status);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body = res.json_value().await;
    assert_eq!(body["status"], status);
    assert!(body["title"].is_string() && body["detail"].is_string(), "{body}");
    body
}

#[tokio::test]
async fn metadata_of_an_uploaded_asset_with_etags_and_conditional_requests() {
    // Processed at once: the processing window has its own test (events.rs).
    let emulator = start(json!({"events": {"processingDelayMs": 0}})).await;
    let client = reqwest::Client::new();
    let id = upload(&client, &emulator, "shoe.jpg", b"jpeg bytes").await;

    let res = call(&client, &emulator, Method::GET, &metadata_path(&id)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let tag = etag(&res);
    assert!(tag.starts_with('"') && tag.ends_with('"'));
    let doc: Value = res.json_value().await;
    assert_eq!(doc["assetId"], id);
    assert_eq!(doc["assetMetadata"], json!({}));
    let repo = &doc["repositoryMetadata"];
    assert_eq!(repo["repo:path"], "/content/dam/shoe.jpg");
    assert_eq!(repo["repo:name"], "shoe.jpg");
    assert_eq!(repo["repo:size"], 10);
    assert_eq!(repo["dc:format"], "image/jpeg");
    assert_eq!(repo["repo:assetId"], id);
    assert_eq!(repo["aem:assetState"], "processed");
    assert_eq!(repo["repo:etag"], tag);
    assert!(repo["repo:repositoryId"].as_str().unwrap().starts_with("127.0.0.1:"));

    // The same tag as the upload's complete and the state.
    assert_eq!(emulator.state()["assets"][0]["etag"], tag);

    let res = call(&client, &emulator, Method::GET, &metadata_path(&id)).header("if-none-match", &tag).send().await;
    let res = res.unwrap();
    assert_eq!(res.status(), 304);
    assert_eq!(etag(&res), tag);
    let res = call(&client, &emulator, Method::HEAD, &metadata_path(&id)).send().await.unwrap();
    assert_eq!((res.status(), etag(&res)), (StatusCode::OK, tag.clone()));

    // A write changes the tag; the old one no longer gives 304.
    let res =
        patch(&client, &emulator, &id, Some(&tag), json!([{"op": "add", "path": "/dc:title", "value": "Shoe"}])).await;
    assert_eq!(res.status(), 200);
    let new_tag = etag(&res);
    assert_ne!(new_tag, tag);
    let doc: Value = res.json_value().await;
    assert_eq!(doc["assetMetadata"], json!({"dc:title": "Shoe"}));
    assert_eq!(doc["repositoryMetadata"]["repo:etag"], new_tag);
    let res = call(&client, &emulator, Method::GET, &metadata_path(&id)).header("if-none-match", &tag).send().await;
    assert_eq!(res.unwrap().status(), 200);
    assert_eq!(emulator.state()["assets"][0]["metadata"], json!({"dc:title": "Shoe"}));

    // A new binary changes the tag too, and keeps id and metadata.
    emulator.configure(&json!({"existingAsset": "overwrite"})).unwrap();
    assert_eq!(upload(&client, &emulator, "shoe.jpg", b"other bytes").await, id);
    let res = call(&client, &emulator, Method::GET, &metadata_path(&id)).send().await.unwrap();
    let after_upload = etag(&res);
    assert_ne!(after_upload, new_tag);
    let doc: Value = res.json_value().await;
    assert_eq!(doc["assetMetadata"]["dc:title"], "Shoe");
    assert_eq!(doc["repositoryMetadata"]["repo:size"], 11);

    // The binary itself, under the same tag.
    let path = format!("/adobe/assets/{id}");
    let res = call(&client, &emulator, Method::GET, &path).send().await.unwrap();
    assert_eq!((res.status(), etag(&res)), (StatusCode::OK, after_upload.clone()));
    assert_eq!(res.headers()["content-type"], "image/jpeg");
    assert_eq!(res.bytes().await.unwrap().as_ref(), b"other bytes");
    let res = call(&client, &emulator, Method::GET, &path).header("if-none-match", &after_upload).send().await.unwrap();
    assert_eq!(res.status(), 304);
    let res = call(&client, &emulator, Method::GET, &path).header("accept", "image/*;q=0.8, text/plain").send().await;
    assert_eq!(res.unwrap().status(), 200);
    problem(
        call(&client, &emulator, Method::GET, &path).header("accept", "application/pdf").send().await.unwrap(),
        406,
    )
    .await;

    // A patch that changes nothing keeps the tag.
    let res =
        patch(&client, &emulator, &id, Some("*"), json!([{"op": "test", "path": "/dc:title", "value": "Shoe"}])).await;
    assert_eq!((res.status(), etag(&res)), (StatusCode::OK, after_upload));
    emulator.stop().await;
}

#[tokio::test]
async fn patch_conditions_atomicity_and_read_only_paths() {
    let emulator = start(json!({})).await;
    let client = reqwest::Client::new();
    let id = upload(&client, &emulator, "a.jpg", b"a").await;
    let res = patch(
        &client,
        &emulator,
        &id,
        Some("*"),
        json!([{"op": "add", "path": "/assetMetadata/dc:subject", "value": ["x"]}, {"op": "set", "path": "pim:sku", "value": "S-1"}]),
    )
    .await;
    assert_eq!(res.status(), 200);
    let tag = etag(&res);

    let body = problem(patch(&client, &emulator, &id, None, json!([])).await, 428).await;
    assert!(body["detail"].as_str().unwrap().contains("If-Match"));
    assert_eq!(body["instance"], metadata_path(&id));

    // Another writer moves the tag on: the first writer's tag is now stale.
    let res = patch(&client, &emulator, &id, Some(&tag), json!([{"op": "add", "path": "/b", "value": 1}])).await;
    let current = etag(&res);
    let res = patch(&client, &emulator, &id, Some(&tag), json!([{"op": "add", "path": "/c", "value": 1}])).await;
    assert_eq!(etag(&res), current, "a 412 names the current tag");
    problem(res, 412).await;
    let weak = format!("W/{current}");
    problem(patch(&client, &emulator, &id, Some(&weak), json!([])).await, 412).await;

    // One failing op fails the whole patch; nothing changes, the tag stays.
    for ops in [
        json!([{"op": "add", "path": "/d", "value": 1}, {"op": "remove", "path": "/nope"}]),
        json!([{"op": "add", "path": "/d", "value": 1}, {"op": "replace", "path": "/repositoryMetadata/repo:name", "value": "x"}]),
        json!([{"op": "add", "path": "/d", "value": 1}, {"op": "test", "path": "/pim:sku", "value": "other"}]),
        json!([{"op": "add", "path": "/d", "value": 1}, {"op": "shuffle", "path": "/d"}]),
        json!({"op": "add", "path": "/d", "value": 1}),
    ] {
        let body = problem(patch(&client, &emulator, &id, Some(&current), ops.clone()).await, 400).await;
        assert!(!body["detail"].as_str().unwrap().is_empty(), "{ops}");
    }
    let res = patch(
        &client,
        &emulator,
        &id,
        Some("*"),
        json!([{"op": "add", "path": "repositoryMetadata/repo:size", "value": 0}]),
    );
    let body = problem(res.await, 400).await;
    assert!(body["detail"].as_str().unwrap().contains("read-only"));
    let res = call(&client, &emulator, Method::GET, &metadata_path(&id)).send().await.unwrap();
    assert_eq!(etag(&res), current);
    let doc: Value = res.json_value().await;
    assert_eq!(doc["assetMetadata"], json!({"dc:subject": ["x"], "pim:sku": "S-1", "b": 1}));
    assert_eq!(doc["repositoryMetadata"]["repo:name"], "a.jpg");

    // Not JSON Patch's media type: 415; not JSON: 400.
    let res = call(&client, &emulator, Method::PATCH, &metadata_path(&id))
        .header("content-type", "application/json")
        .header("if-match", "*")
        .body("[]")
        .send()
        .await
        .unwrap();
    problem(res, 415).await;
    let res = call(&client, &emulator, Method::PATCH, &metadata_path(&id))
        .header("content-type", "application/json-patch+json")
        .header("if-match", "*")
        .body("[{")
        .send()
        .await
        .unwrap();
    problem(res, 400).await;
    emulator.stop().await;
}

#[tokio::test]
async fn concurrent_writers_with_one_tag_exactly_one_wins() {
    let emulator = start(json!({})).await;
    let client = reqwest::Client::new();
    let id = upload(&client, &emulator, "race.jpg", b"r").await;
    let res = call(&client, &emulator, Method::HEAD, &metadata_path(&id)).send().await.unwrap();
    let tag = etag(&res);
    let writers = (0..10).map(|i| {
        let (client, emulator, id, tag) = (&client, &emulator, &id, &tag);
        async move {
            let ops = json!([{"op": "add", "path": format!("/w{i}"), "value": i}]);
            patch(client, emulator, id, Some(tag), ops).await.status()
        }
    });
    let statuses = futures_util::future::join_all(writers).await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 412).count(), 9, "{statuses:?}");
    emulator.stop().await;
}

#[tokio::test]
async fn accept_api_key_and_credentials_are_checked() {
    let emulator = start(json!({})).await;
    let client = reqwest::Client::new();
    let id = upload(&client, &emulator, "k.jpg", b"k").await;
    let url = format!("{}{}", emulator.url(), metadata_path(&id));

    let res = call(&client, &emulator, Method::GET, &metadata_path(&id)).header("accept", "text/html").send().await;
    problem(res.unwrap(), 406).await;
    let res = call(&client, &emulator, Method::GET, &metadata_path(&id))
        .header("accept", "application/problem+json, application/json;q=0.9")
        .send()
        .await;
    assert_eq!(res.unwrap().status(), 200);

    let res = client.get(&url).header("authorization", AUTH).send().await.unwrap();
    problem(res, 403).await;
    let res = client.get(&url).header("authorization", AUTH).header("x-api-key", "someone-else").send().await;
    problem(res.unwrap(), 403).await;
    let res = client.get(&url).header("x-api-key", KEY).send().await.unwrap();
    assert!(res.headers().contains_key("www-authenticate"));
    problem(res, 401).await;

    // Keys are registered by configuration, also while running.
    emulator.configure(&json!({"author": {"apiKeys": [KEY, "someone-else"]}})).unwrap();
    let res = client.get(&url).header("authorization", AUTH).header("x-api-key", "someone-else").send().await;
    assert_eq!(res.unwrap().status(), 200);

    // A client registered with the emulator's IMS is an allow-listed key too.
    let minted = emulator.create_oauth_client(&Value::Null).unwrap();
    let client_id = minted["clientId"].as_str().unwrap();
    let res = client.get(&url).header("authorization", AUTH).header("x-api-key", client_id).send().await;
    assert_eq!(res.unwrap().status(), 200);

    // Unknown and malformed ids, unknown routes and methods.
    let unknown = "urn:aaid:aem:00000000-0000-4000-8000-000000000000";
    problem(call(&client, &emulator, Method::GET, &metadata_path(unknown)).send().await.unwrap(), 404).await;
    problem(patch(&client, &emulator, unknown, None, json!([])).await, 404).await;
    problem(call(&client, &emulator, Method::GET, &metadata_path("not-an-id")).send().await.unwrap(), 400).await;
    problem(call(&client, &emulator, Method::GET, "/adobe/assets/a/b/c").send().await.unwrap(), 404).await;
    let res = call(&client, &emulator, Method::POST, &metadata_path(&id)).send().await.unwrap();
    assert_eq!(res.headers()["allow"], "GET, HEAD, PATCH");
    problem(res, 405).await;
    emulator.stop().await;
}

#[tokio::test]
async fn deletes_plain_and_through_jobs() {
    let emulator = start(json!({})).await;
    let client = reqwest::Client::new();
    let plain = upload(&client, &emulator, "plain.jpg", b"p").await;
    let res = call(&client, &emulator, Method::DELETE, &format!("/adobe/assets/{plain}")).send().await.unwrap();
    assert_eq!(res.status(), 204);
    problem(call(&client, &emulator, Method::GET, &metadata_path(&plain)).send().await.unwrap(), 404).await;
    problem(call(&client, &emulator, Method::DELETE, &format!("/adobe/assets/{plain}")).send().await.unwrap(), 404)
        .await;

    // A referenced asset: without force, a job updates references first.
    emulator.configure(&json!({"author": {"referenced": ["/content/dam/ref.jpg"], "jobMs": 300}})).unwrap();
    let referenced = upload(&client, &emulator, "ref.jpg", b"r").await;
    let res = call(&client, &emulator, Method::DELETE, &format!("/adobe/assets/{referenced}?force=false")).send().await;
    let res = res.unwrap();
    assert_eq!(res.status(), 202);
    assert_eq!(res.headers()["retry-after"], "1");
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let body: Value = res.json_value().await;
    let job = body["jobId"].as_str().unwrap().to_string();
    assert_eq!(body["state"], "PROCESSING");
    assert_eq!(location, format!("/adobe/assets/jobs/{job}/status"));

    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = call(&no_redirects, &emulator, Method::GET, &location).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json_value().await, json!({"jobId": job, "state": "PROCESSING"}));
    // Still there while the job runs.
    assert_eq!(call(&client, &emulator, Method::HEAD, &metadata_path(&referenced)).send().await.unwrap().status(), 200);
    let finished = loop {
        let res = call(&no_redirects, &emulator, Method::GET, &location).send().await.unwrap();
        if res.status() == 303 {
            break res;
        }
        assert_eq!(res.status(), 200);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let result = finished.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(result, format!("/adobe/assets/jobs/{job}/result"));
    assert_eq!(finished.json_value().await["state"], "COMPLETED");
    let res = call(&client, &emulator, Method::GET, &result).send().await.unwrap();
    let outcome: Value = res.json_value().await;
    assert_eq!(outcome["result"], json!({"assetId": referenced, "path": "/content/dam/ref.jpg", "deleted": true}));
    problem(call(&client, &emulator, Method::GET, &metadata_path(&referenced)).send().await.unwrap(), 404).await;
    assert_eq!(emulator.state()["jobs"][0]["state"], "COMPLETED");

    // force deletes a referenced asset at once; asyncDelete makes every delete a job.
    let again = upload(&client, &emulator, "ref.jpg", b"r").await;
    let res = call(&client, &emulator, Method::DELETE, &format!("/adobe/assets/{again}?force=true")).send().await;
    assert_eq!(res.unwrap().status(), 204);
    emulator.configure(&json!({"asyncDelete": 0})).unwrap();
    let quick = upload(&client, &emulator, "quick.jpg", b"q").await;
    let res = call(&client, &emulator, Method::DELETE, &format!("/adobe/assets/{quick}?force=true")).send().await;
    let res = res.unwrap();
    assert_eq!((res.status(), &res.headers()["retry-after"]), (StatusCode::ACCEPTED, &"0".parse().unwrap()));
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(call(&no_redirects, &emulator, Method::GET, &location).send().await.unwrap().status(), 303);
    problem(call(&client, &emulator, Method::GET, &metadata_path(&quick)).send().await.unwrap(), 404).await;

    let bad = call(&client, &emulator, Method::DELETE, &format!("/adobe/assets/{quick}?force=maybe")).send().await;
    problem(bad.unwrap(), 400).await;
    problem(call(&client, &emulator, Method::GET, "/adobe/assets/jobs/nope/status").send().await.unwrap(), 404).await;
    emulator.stop().await;
}

#[tokio::test]
async fn the_experimental_header_can_be_required() {
    let emulator = start(json!({"author": {"apiKeys": [KEY], "requireExperimental": true}})).await;
    let client = reqwest::Client::new();
    let id = upload(&client, &emulator, "x.jpg", b"x").await;
    let url = format!("{}/adobe/assets/{id}", emulator.url());
    let res = client.delete(&url).header("authorization", AUTH).header("x-api-key", KEY).send().await.unwrap();
    problem(res, 400).await;
    assert_eq!(
        call(&client, &emulator, Method::DELETE, &format!("/adobe/assets/{id}")).send().await.unwrap().status(),
        204
    );
    emulator.stop().await;
}

#[tokio::test]
async fn ids_from_dam_paths_for_every_way_of_uploading() {
    let emulator = start(json!({"directBinary": false})).await;
    let client = reqwest::Client::new();
    // The create-asset servlet, one multipart request.
    let boundary = "XyZ";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"servlet.txt\"\r\n\
         Content-Type: text/plain\r\n\r\nhello\r\n--{boundary}--\r\n"
    );
    let res = client
        .post(format!("{}/content/dam.createasset.html", emulator.url()))
        .header("authorization", AUTH)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let node: Value = client
        .get(format!("{}/content/dam/servlet.txt.json", emulator.url()))
        .header("authorization", AUTH)
        .send()
        .await
        .unwrap()
        .json_value()
        .await;
    assert_eq!(node["jcr:primaryType"], "dam:Asset");
    let id = format!("urn:aaid:aem:{}", node["jcr:uuid"].as_str().unwrap());
    assert_eq!(emulator.state()["assets"][0]["assetId"], id);
    let doc: Value =
        call(&client, &emulator, Method::GET, &metadata_path(&id)).send().await.unwrap().json_value().await;
    assert_eq!(doc["repositoryMetadata"]["repo:path"], "/content/dam/servlet.txt");
    assert_eq!(doc["repositoryMetadata"]["dc:format"], "text/plain");

    // An asset really named `*.json` is its binary; its node is `.json.json`.
    emulator.configure(&json!({"directBinary": true})).unwrap();
    upload(&client, &emulator, "data.json", b"{}").await;
    let get = |path: &str| client.get(format!("{}{path}", emulator.url())).header("authorization", AUTH).send();
    assert_eq!(get("/content/dam/data.json").await.unwrap().text().await.unwrap(), "{}");
    let node: Value = get("/content/dam/data.json.json").await.unwrap().json_value().await;
    assert!(node["jcr:uuid"].is_string());
    assert_eq!(get("/content/dam/missing.jpg.json").await.unwrap().status(), 404);
    let folder: Value = get("/content/dam.json").await.unwrap().json_value().await;
    assert_eq!(folder["jcr:primaryType"], "sling:Folder");
    emulator.stop().await;
}

#[tokio::test]
async fn faults_on_the_author_route_are_seeded() {
    let emulator = start(json!({
        "author": {"apiKeys": [KEY]},
        "faults": {"seed": 3, "routes": {"author": {"status503": 1.0, "maxAttempt": 1}}},
    }))
    .await;
    let client = reqwest::Client::new();
    let id = upload(&client, &emulator, "f.jpg", b"f").await;
    assert_eq!(call(&client, &emulator, Method::GET, &metadata_path(&id)).send().await.unwrap().status(), 503);
    assert_eq!(call(&client, &emulator, Method::GET, &metadata_path(&id)).send().await.unwrap().status(), 200);
    let state = emulator.state();
    assert_eq!(state["faults"][0]["route"], "author");
    assert_eq!(state["counters"]["author"]["statuses"]["503"], 1);
    emulator.stop().await;
}

#[tokio::test]
async fn dir_storage_keeps_ids_tags_and_metadata_across_a_restart() {
    let root = tempfile::tempdir().unwrap();
    let config = json!({"storage": format!("dir:{}", root.path().display())});
    let emulator = start(config.clone()).await;
    let client = reqwest::Client::new();
    let id = upload(&client, &emulator, "kept.jpg", b"kept bytes").await;
    let gone = upload(&client, &emulator, "gone.jpg", b"gone").await;
    let res =
        patch(&client, &emulator, &id, Some("*"), json!([{"op": "add", "path": "/dc:title", "value": "Kept"}])).await;
    let tag = etag(&res);
    let res = call(&client, &emulator, Method::DELETE, &format!("/adobe/assets/{gone}")).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert!(!root.path().join("content/dam/gone.jpg").exists(), "a deleted asset leaves no file");
    emulator.stop().await;

    let emulator = start(config).await;
    let res = call(&client, &emulator, Method::GET, &metadata_path(&id)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(etag(&res), tag);
    let doc: Value = res.json_value().await;
    assert_eq!(doc["assetMetadata"], json!({"dc:title": "Kept"}));
    assert_eq!(doc["repositoryMetadata"]["repo:size"], 10);
    problem(call(&client, &emulator, Method::GET, &metadata_path(&gone)).send().await.unwrap(), 404).await;
    let binary = client.get(format!("{}/content/dam/kept.jpg", emulator.url())).header("authorization", AUTH).send();
    assert_eq!(binary.await.unwrap().bytes().await.unwrap().as_ref(), b"kept bytes");
    emulator.stop().await;
}
