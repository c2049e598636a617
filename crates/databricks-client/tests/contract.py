"""Checks request bodies against the official Databricks Python SDK (databricks-sdk).

Reads a JSON array of {"name", "kind", "body"} from the file named on the command line. For a request kind, every
field must be a parameter of the SDK method that sends that request, each value must convert to the parameter's type
(dataclasses through `from_dict`, enums by value), and calling the SDK method with the converted values must send
exactly the same body. For a response kind, `from_dict` then `as_dict` must give the body back. Exits 1 on any
difference, printing each one.
"""

import dataclasses
import enum
import inspect
import json
import sys
import typing

from databricks.sdk.service import catalog, compute

# kind -> (API class, method, path). A path with `{…}` takes those parameters from the case's
# "path_params"; they are not part of the body.
REQUESTS = {
    "add_instance_profile": (compute.InstanceProfilesAPI, "add", "/api/2.0/instance-profiles/add"),
    "edit_instance_profile": (compute.InstanceProfilesAPI, "edit", "/api/2.0/instance-profiles/edit"),
    "create_cluster": (compute.ClustersAPI, "create", "/api/2.1/clusters/create"),
    "edit_cluster": (compute.ClustersAPI, "edit", "/api/2.1/clusters/edit"),
    "create_storage_credential": (catalog.StorageCredentialsAPI, "create", "/api/2.1/unity-catalog/storage-credentials"),
    "update_storage_credential": (
        catalog.StorageCredentialsAPI,
        "update",
        "/api/2.1/unity-catalog/storage-credentials/{name}",
    ),
    "validate_storage_credential": (
        catalog.StorageCredentialsAPI,
        "validate",
        "/api/2.1/unity-catalog/validate-storage-credentials",
    ),
    "create_external_location": (catalog.ExternalLocationsAPI, "create", "/api/2.1/unity-catalog/external-locations"),
    "update_external_location": (
        catalog.ExternalLocationsAPI,
        "update",
        "/api/2.1/unity-catalog/external-locations/{name}",
    ),
    "update_permissions": (catalog.GrantsAPI, "update", "/api/2.1/unity-catalog/permissions/{securable_type}/{full_name}"),
}

RESPONSES = {
    "cluster_details": compute.ClusterDetails,
    "instance_profiles_list": compute.ListInstanceProfilesResponse,
    "command_status": compute.CommandStatusResponse,
    "storage_credential": catalog.StorageCredentialInfo,
    "external_location": catalog.ExternalLocationInfo,
    "validation": catalog.ValidateStorageCredentialResponse,
    "permissions": catalog.GetPermissionsResponse,
}


class Recorder:
    class _Cfg:
        workspace_id = None

    def __init__(self):
        self._cfg = Recorder._Cfg()
        self.calls = []

    def do(self, method, path, query=None, headers=None, body=None, **_):
        self.calls.append((method, path, body))
        return {"cluster_id": "recorded"}


def convert(value, hint, where, problems):
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union:
        inner = [a for a in args if a is not type(None)]
        return convert(value, inner[0], where, problems)
    if origin in (list, typing.List):
        if not isinstance(value, list):
            problems.append(f"{where}: expected a list, got {value!r}")
            return value
        return [convert(v, args[0], f"{where}[{i}]", problems) for i, v in enumerate(value)]
    if origin in (dict, typing.Dict):
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            problems.append(f"{where}: expected a map of strings, got {value!r}")
        return value
    if inspect.isclass(hint) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            problems.append(f"{where}: {value!r} is not a {hint.__name__}")
            return value
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            problems.append(f"{where}: expected an object, got {value!r}")
            return value
        known = {f.name for f in dataclasses.fields(hint)}
        # as_dict uses the wire names; compare against a round trip to find dropped fields.
        parsed = hint.from_dict(value)
        back = parsed.as_dict()
        if back != value:
            problems.append(f"{where}: {hint.__name__} round trip differs: sent {value!r}, sdk gives {back!r} (fields {sorted(known)})")
        return parsed
    if hint is bool and not isinstance(value, bool):
        problems.append(f"{where}: expected a bool, got {value!r}")
    elif hint is int and (isinstance(value, bool) or not isinstance(value, int)):
        problems.append(f"{where}: expected an int, got {value!r}")
    elif hint is str and not isinstance(value, str):
        problems.append(f"{where}: expected a string, got {value!r}")
    return value


def check_request(name, kind, body, problems, path_params):
    api_class, method_name, path = REQUESTS[kind]
    path = path.format(**path_params)
    method = getattr(api_class, method_name)
    hints = typing.get_type_hints(method, {**vars(compute), **vars(catalog)})
    params = {p: v for p, v in inspect.signature(method).parameters.items() if p != "self"}
    for field in body:
        if field not in params or field in path_params:
            problems.append(f"{name}: `{field}` is not a parameter of {api_class.__name__}.{method_name}")
    for param, spec in params.items():
        if spec.default is inspect.Parameter.empty and param not in body and param not in path_params:
            problems.append(f"{name}: required `{param}` is missing")
    kwargs = {k: convert(v, hints[k], f"{name}: field `{k}`", problems) for k, v in body.items() if k in params}
    kwargs.update(path_params)
    recorder = Recorder()
    try:
        getattr(api_class(recorder), method_name)(**kwargs)
    except Exception as err:  # noqa: BLE001 - report any failure of the SDK call as a problem
        problems.append(f"{name}: the sdk call failed: {err!r}")
        return
    sent = recorder.calls[0]
    if sent[1] != path:
        problems.append(f"{name}: the sdk sends this to {sent[1]}, not {path}")
    if sent[2] != body:
        problems.append(f"{name}: the sdk would send {json.dumps(sent[2], sort_keys=True)}\n  but xacct sent {json.dumps(body, sort_keys=True)}")


def check_response(name, kind, body, problems):
    cls = RESPONSES[kind]
    back = cls.from_dict(body).as_dict()
    if back != body:
        problems.append(f"{name}: {cls.__name__} round trip differs:\n  sent {json.dumps(body, sort_keys=True)}\n  back {json.dumps(back, sort_keys=True)}")


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    problems = []
    for case in cases:
        if case["kind"] in REQUESTS:
            check_request(case["name"], case["kind"], case["body"], problems, case.get("path_params", {}))
        else:
            check_response(case["name"], case["kind"], case["body"], problems)
    for problem in problems:
        print(problem)
    print(f"checked {len(cases)} bodies, {len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
