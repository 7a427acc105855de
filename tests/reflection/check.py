"""Lists each gRPC port's services with Python's grpcio-reflection (a client
the project did not write; it speaks reflection v1alpha), and calls
IngestService.GetDeviceDiagnostics from the descriptors reflection returns.

    check.py INGEST_ADDR LOCATION_ADDR INDICATORS_ADDR INGEST_TOKEN_FILE [VEHICLE]

VEHICLE, when given, must have a refused tap (scripts/test-browser.sh
publishes one) and its diagnostics must say why.
"""
import sys

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

# Beside its own service, each port serves health (reflection does not list
# itself, as tonic's does not).
COMMON = {"grpc.health.v1.Health"}
PKG = "kagoshima.transit.v1."


def services(addr):
    channel = grpc.insecure_channel(addr)
    database = ProtoReflectionDescriptorDatabase(channel)
    return channel, database, set(database.get_services())


def main():
    ingest, location, indicators, token_file = sys.argv[1:5]
    vehicle = sys.argv[5] if len(sys.argv) > 5 else None
    failures = []
    for addr, owns in [
        (ingest, {PKG + "IngestService"}),
        (location, {PKG + "PassengerService", PKG + "AlertService"}),
        (indicators, {PKG + "IndicatorService"}),
    ]:
        _, database, found = services(addr)
        print(f"{addr}: {', '.join(sorted(found))}")
        if found != COMMON | owns:
            failures.append(f"{addr} lists {sorted(found)}, expected {sorted(COMMON | owns)}")
        # Each service's descriptor resolves, with its methods.
        pool = DescriptorPool(database)
        for own in sorted(owns):
            methods = [m.name for m in pool.FindServiceByName(own).methods]
            print(f"  {own}: {', '.join(methods)}")

    channel, database, _ = services(ingest)
    pool = DescriptorPool(database)
    method = pool.FindServiceByName(PKG + "IngestService").methods_by_name["GetDeviceDiagnostics"]
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    call = channel.unary_unary(
        f"/{PKG}IngestService/GetDeviceDiagnostics",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response_class.FromString,
    )
    token = open(token_file).read().strip()
    try:
        call(request_class(vehicle_id="no-such-vehicle"), metadata=[("authorization", f"Bearer {token}")])
        failures.append("GetDeviceDiagnostics answered for an unknown vehicle")
    except grpc.RpcError as e:
        print(f"unknown vehicle: {e.code().name}: {e.details()}")
        if e.code() != grpc.StatusCode.NOT_FOUND:
            failures.append(f"unknown vehicle gave {e.code().name}, expected NOT_FOUND")
    if vehicle:
        answer = call(request_class(vehicle_id=vehicle), metadata=[("authorization", f"Bearer {token}")])
        reasons = {r.reason: r.latest_detail for r in answer.refusals}
        print(f"{vehicle}: refused {answer.device.refused}: {reasons}")
        if "malformed_payload" not in reasons:
            failures.append(f"{vehicle}'s refused tap is not in its diagnostics")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("reflection: every port lists exactly its own services")


if __name__ == "__main__":
    main()
