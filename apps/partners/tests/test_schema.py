"""Every partner operation documents its errors in the partner shape (the contract test fuzzes
the served document; this catches a missing status without a server)."""

from drf_spectacular.generators import SchemaGenerator

PARTNER_PATHS = {
    "/api/internal/notifications": {"post"},
    "/v1/customers": {"post"},
    "/v1/customers/{id}": {"get"},
    "/v1/service-providers": {"post"},
    "/v1/service-providers/{id}": {"get"},
    "/v1/service-providers/{id}/average-rating": {"get"},
    "/v1/ratings": {"post"},
    "/v1/ratings/{id}": {"get"},
    "/api/notifications/{serviceProviderId}": {"get"},
}
ERROR = {"$ref": "#/components/schemas/PartnerError"}


def test_partner_operations_are_tagged_summarised_and_document_every_error():
    schema = SchemaGenerator().get_schema(request=None, public=True)

    tagged = {
        path: {method for method, op in item.items() if "partner" in op.get("tags", [])}
        for path, item in schema["paths"].items()
    }
    assert {path: methods for path, methods in tagged.items() if methods} == {**PARTNER_PATHS, "/healthcheck": {"get"}}
    # Public, as Homerun's: no key.
    assert schema["paths"]["/healthcheck"]["get"]["security"] == [{}]
    for path, methods in PARTNER_PATHS.items():
        for method in methods:
            operation = schema["paths"][path][method]
            assert operation["summary"] and operation["description"], path
            assert operation["security"] == [{"PartnerApiKey": []}], path
            expected = {"401", "403", "406", "429", "500"}
            if "{" in path:
                expected.add("404")
            if method == "post":
                expected |= {"400", "413", "415"}
                # Creations that can conflict (the internal notification intake cannot).
                if path.startswith("/v1/"):
                    expected.add("409")
            errors = {status for status in operation["responses"] if status >= "400"}
            assert expected <= errors, (path, expected - errors)
            for status in errors:
                assert operation["responses"][status]["content"]["application/json"]["schema"] == ERROR, (path, status)
    assert set(schema["components"]["schemas"]["PartnerError"]["required"]) == {"status", "message"}
