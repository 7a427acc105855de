//! gRPC server reflection (what grpcurl uses to list and describe services).
use prost_reflect::prost::Message;
use prost_reflect::prost_types::FileDescriptorProto;
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, ServerReflectionResponse,
    server_reflection_client::ServerReflectionClient, server_reflection_request::MessageRequest,
    server_reflection_response::MessageResponse,
};

use crate::support::TestLocation;

async fn ask(app: &TestLocation, request: MessageRequest) -> MessageResponse {
    // The generated client has no `connect` (tonic-reflection builds it
    // without the transport feature): connect a channel first.
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", app.grpc))
        .expect("an endpoint")
        .connect()
        .await
        .expect("grpc connects");
    let mut client = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection answers")
        .into_inner();
    let response: ServerReflectionResponse = responses
        .message()
        .await
        .expect("a response")
        .expect("not the end of the stream");
    response.message_response.expect("a message response")
}

#[tokio::test]
async fn grpc_reflection_lists_the_passenger_service() {
    let app = TestLocation::spawn().await;
    let MessageResponse::ListServicesResponse(list) =
        ask(&app, MessageRequest::ListServices(String::new())).await
    else {
        panic!("not a list of services");
    };
    let names: Vec<&str> = list.service.iter().map(|s| s.name.as_str()).collect();
    for wanted in [
        "kagoshima.transit.v1.PassengerService",
        "grpc.health.v1.Health",
    ] {
        assert!(names.contains(&wanted), "{wanted} not in {names:?}");
    }
    // Every service's descriptor is registered, but this port only answers
    // the passenger service: reflection must not advertise the others.
    for served_elsewhere in [
        "kagoshima.transit.v1.IngestService",
        "kagoshima.transit.v1.IndicatorService",
    ] {
        assert!(
            !names.contains(&served_elsewhere),
            "{served_elsewhere} listed"
        );
    }

    let symbol = "kagoshima.transit.v1.PassengerService";
    let MessageResponse::FileDescriptorResponse(files) =
        ask(&app, MessageRequest::FileContainingSymbol(symbol.into())).await
    else {
        panic!("no file descriptor for {symbol}");
    };
    assert!(!files.file_descriptor_proto.is_empty());
    let described = files.file_descriptor_proto.iter().any(|bytes| {
        let file = FileDescriptorProto::decode(bytes.as_slice()).expect("a file descriptor");
        file.package() == "kagoshima.transit.v1"
            && file.service.iter().any(|s| s.name() == "PassengerService")
    });
    assert!(described, "no descriptor declares {symbol}");
}
