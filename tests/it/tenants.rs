//! Two tenants: every REST route and every gRPC method, called by one tenant with
//! the other's ids, answers 404 / NOT_FOUND and changes nothing. The routes are read
//! from the OpenAPI document and the methods from the service descriptors, so a route
//! or method added later is swept without anyone listing it; one whose request this
//! sweep cannot build fails here, naming what to add.

use std::collections::HashMap;

use bytes::{Buf, BufMut};
use ctxd_test_support::TestApp;
use prost::Message;
use reqwest::Method;
use serde_json::{Value, json};
use tonic::{
    Code, Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
};

use crate::{
    grpc::{authed, channel},
    pipeline::wait_for_run,
    uploads::{presign, put_bytes},
};

with_workers!(
    rest_routes_never_reach_another_tenants_data => 3,
    grpc_methods_never_reach_another_tenants_data => 3,
);

/// Alice's resources, one of each kind, processed so that revisions, runs and
/// artifacts exist.
struct World {
    ids: HashMap<&'static str, String>,
}

async fn alices_world(app: &TestApp) -> World {
    let space = app.create_space("alice's").await;
    let collection = app.post(&format!("/v1/spaces/{space}/collections"), json!({"name": "c"})).await;
    let collection = collection.body["id"].as_str().unwrap().to_owned();
    let data = "# Notes\n\nSome text.\n\n```python\ndef f():\n    return 1\n```\n";
    let source = app
        .create_source(&space, json!({"type": "CONTENT", "initial_data": {"data": data}, "collectionId": collection}))
        .await;
    let source_id = source["id"].as_str().unwrap().to_owned();
    let done = wait_for_run(app, &source_id, &source["last_run"]["id"]).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let run = done["last_run"]["id"].as_str().unwrap().to_owned();
    let artifacts = app.get(&format!("/v1/sources/{source_id}/artifacts")).await;
    let artifact = artifacts.body["artifacts"][0]["id"].as_str().expect("an artifact").to_owned();
    let keys = app.get("/v1/api-keys").await;
    let key = keys.body["api_keys"][0]["id"].as_str().unwrap_or_else(|| panic!("alice's key id: {}", keys.body));
    let key = key.to_owned();
    let presigned = presign(app, "notes.txt", "text/plain", 5).await;
    assert_eq!(put_bytes(presigned["uploadUrl"].as_str().unwrap(), "text/plain", b"hello").await.0, 200);
    let file = presigned["fileKey"].as_str().unwrap().to_owned();
    let ids = HashMap::from([
        ("space", space),
        ("collection", collection),
        ("source", source_id),
        ("run", run),
        ("artifact", artifact),
        ("key", key),
        ("file", file),
        ("revision", "1".to_owned()),
    ]);
    World { ids }
}

/// Everything alice can read about her resources, to compare before and after.
async fn snapshot(app: &TestApp, world: &World) -> Vec<(String, u16, Value)> {
    let ids = &world.ids;
    let (space, source) = (&ids["space"], &ids["source"]);
    let mut paths = vec![
        "/v1/spaces".to_owned(),
        format!("/v1/spaces/{space}"),
        format!("/v1/spaces/{space}/collections"),
        format!("/v1/spaces/{space}/sources?include_deleted=true"),
        format!("/v1/spaces/{space}/artifacts"),
        format!("/v1/sources/{source}"),
        format!("/v1/sources/{source}/runs"),
        format!("/v1/sources/{source}/revisions"),
        format!("/v1/sources/{source}/context"),
        format!("/v1/sources/{source}/artifacts"),
        format!("/v1/artifacts/{}", ids["artifact"]),
        format!("/v1/runs/{}", ids["run"]),
        "/v1/api-keys".to_owned(),
        "/v1/postback-secret".to_owned(),
    ];
    paths.push(format!("/v1/files/{}", ids["file"]));
    let mut seen = Vec::new();
    for path in paths {
        let response = app.get(&path).await;
        seen.push((path, response.status, response.body));
    }
    seen
}

/// A valid body for each request schema that an id-carrying route takes, so that the
/// route gets past reading its body and has to decide whose ids it was given.
fn body_for(schema: &str) -> Option<Value> {
    Some(match schema {
        "SpaceIn" | "CollectionIn" | "CollectionPatchIn" | "SourcePatchIn" => json!({"name": "mallory"}),
        "SourceCreateIn" | "FastForwardIn" => json!({"type": "CONTENT", "initial_data": {"data": "mallory"}}),
        "RefreshIn" | "ReprocessIn" => json!({}),
        _ => return None,
    })
}

/// The name of the schema a request body refers to, optional or not.
fn schema_name(request_body: &Value) -> Option<String> {
    let schema = request_body["content"]["application/json"]["schema"].clone();
    let reference =
        schema["$ref"].as_str().or_else(|| schema["oneOf"].as_array()?.iter().find_map(|s| s["$ref"].as_str()))?;
    reference.rsplit('/').next().map(str::to_owned)
}

async fn rest_routes_never_reach_another_tenants_data(app: TestApp) {
    let world = alices_world(&app).await;
    let before = snapshot(&app, &world).await;
    let mallory = app.key_for("mallory").await;
    let document = serde_json::to_value(ctxd_rest::openapi()).unwrap();
    let parameter_resource = HashMap::from([
        ("spaceId", "space"),
        ("collectionId", "collection"),
        ("sourceId", "source"),
        ("runId", "run"),
        ("artifactId", "artifact"),
        ("keyId", "key"),
        ("fileKey", "file"),
        ("n", "revision"),
    ]);
    let mut swept = 0;
    for (template, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let parameters: Vec<&str> = template.split('{').skip(1).filter_map(|p| p.split('}').next()).collect();
            // Routes without ids act on the caller's own data; the signed upload URL's
            // credential is its signature, not a key (tested in uploads.rs).
            if parameters.is_empty() || (method == "put" && template.starts_with("/v1/files/")) {
                continue;
            }
            let mut path = template.clone();
            for parameter in &parameters {
                let resource = parameter_resource
                    .get(parameter)
                    .unwrap_or_else(|| panic!("{template}: the sweep has no resource for {{{parameter}}}; add it"));
                path = path.replace(&format!("{{{parameter}}}"), &world.ids[resource]);
            }
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let mut request = app.request_as(&mallory, method.clone(), &path);
            if let Some(request_body) = operation.get("requestBody") {
                let schema = schema_name(request_body).unwrap_or_default();
                let body = body_for(&schema)
                    .unwrap_or_else(|| panic!("{method} {template}: the sweep has no body for {schema:?}; add one"));
                request = request.json(&body);
            }
            let response = app.send(request).await;
            assert_eq!(response.status, 404, "{method} {template} as another tenant: {:?}", response.body);
            assert!(response.body["requestId"].is_string(), "{method} {template}: {:?}", response.body);
            swept += 1;
        }
    }
    assert!(swept >= 30, "only {swept} routes were swept");
    assert_eq!(snapshot(&app, &world).await, before, "another tenant's calls changed nothing");
}

/// Raw protobuf bytes in and out, so any method can be called from its descriptor.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        Ok(Some(bytes.to_vec()))
    }
}

/// Which of alice's resources an id field names: `id` by the request message's name,
/// `*_id` by its prefix.
fn resource_of(message: &str, field: &str) -> Option<&'static str> {
    let by_prefix = [
        ("space", "space"),
        ("source", "source"),
        ("collection", "collection"),
        ("parent", "collection"),
        ("run", "run"),
        ("artifact", "artifact"),
        ("key", "key"),
    ];
    if field == "id" {
        let by_message = [
            ("Run", "run"),
            ("Artifact", "artifact"),
            ("ApiKey", "key"),
            ("Collection", "collection"),
            ("Source", "source"),
            ("Space", "space"),
        ];
        return by_message.iter().find(|(part, _)| message.contains(part)).map(|(_, r)| *r);
    }
    let prefix = field.strip_suffix("_id")?;
    by_prefix.iter().find(|(p, _)| *p == prefix).map(|(_, r)| *r)
}

/// Encodes one length-delimited field.
fn put_field(out: &mut Vec<u8>, number: i32, bytes: &[u8]) {
    prost::encoding::encode_key(number as u32, prost::encoding::WireType::LengthDelimited, out);
    prost::encoding::encode_varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

async fn grpc_methods_never_reach_another_tenants_data(app: TestApp) {
    use prost_types::field_descriptor_proto::Type;
    let world = alices_world(&app).await;
    let before = snapshot(&app, &world).await;
    let mallory = app.key_for("mallory").await;
    let descriptors = prost_types::FileDescriptorSet::decode(ctxd_grpc::pb::FILE_DESCRIPTOR_SET).unwrap();
    let messages: HashMap<String, &prost_types::DescriptorProto> = descriptors
        .file
        .iter()
        .flat_map(|file| file.message_type.iter().map(move |m| (format!(".{}.{}", file.package(), m.name()), m)))
        .collect();
    // Nested messages a request needs to be valid at all.
    let content =
        ctxd_grpc::pb::SourceInput { input: Some(ctxd_grpc::pb::source_input::Input::Data("mallory".into())) };
    let nested = HashMap::from([(".ctxd.v1.SourceInput", content.encode_to_vec())]);
    let channel = channel(&app).await;
    let mut swept = 0;
    for file in &descriptors.file {
        for service in &file.service {
            for method in &service.method {
                let input = messages[method.input_type()];
                let mut request = Vec::new();
                let mut has_id = false;
                for field in &input.field {
                    match (field.r#type(), resource_of(input.name(), field.name())) {
                        (Type::String, Some(resource)) => {
                            put_field(&mut request, field.number(), world.ids[resource].as_bytes());
                            has_id = true;
                        }
                        (Type::String, None) if field.name() == "name" => {
                            put_field(&mut request, field.number(), b"mallory");
                        }
                        (Type::Message, _) => {
                            if let Some(bytes) = nested.get(field.type_name()) {
                                put_field(&mut request, field.number(), bytes);
                            }
                        }
                        _ => {}
                    }
                }
                if !has_id {
                    continue; // acts on the caller's own data
                }
                let path = format!("/{}.{}/{}", file.package(), service.name(), method.name());
                let mut grpc = tonic::client::Grpc::new(channel.clone());
                grpc.ready().await.unwrap();
                let request = authed(&mallory, request);
                let status = if method.server_streaming() {
                    match grpc.server_streaming(request, path.parse().unwrap(), RawCodec).await {
                        Ok(response) => match response.into_inner().message().await {
                            Err(status) => status,
                            Ok(message) => panic!("{path} streamed {message:?} to another tenant"),
                        },
                        Err(status) => status,
                    }
                } else {
                    match grpc.unary::<_, Vec<u8>, _>(request, path.parse().unwrap(), RawCodec).await {
                        Ok(_) => panic!("{path} answered another tenant"),
                        Err(status) => status,
                    }
                };
                assert_eq!(
                    status.code(),
                    Code::NotFound,
                    "{path} as another tenant (if INVALID_ARGUMENT, give the sweep what the request needs): {status:?}"
                );
                swept += 1;
            }
        }
    }
    assert!(swept >= 20, "only {swept} methods were swept");
    assert_eq!(snapshot(&app, &world).await, before, "another tenant's calls changed nothing");
}
