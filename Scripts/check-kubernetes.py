#!/usr/bin/env python3
"""Renders every overlay of a Deployments/kubernetes tree and checks what a cluster would receive.

For each overlay folder (named after its participant, with the kit-secret.yaml `fedctl provision --kubernetes` wrote):
1. renders it (Scripts/kustomize_subset.py; also with `kubectl kustomize` when that works here, and the two must agree);
2. validates every object against the Kubernetes schemas of KUBERNETES_VERSIONS, strictly (kubernetes-validate);
3. checks the start-up kit Secret `fedct-kit` holds exactly the files `fedctl provision` wrote in KITS/<participant>/
   (base64-decoded, byte for byte);
4. checks the manifests agree with that kit: the config's ports are the container ports the probes and Services use,
   probes GET /healthz on the metrics port, state_dir and data.dir are the mounted volumes (data read-only), the pod
   runs as a non-root user on a read-only root file system, and a site's NetworkPolicy lets it reach only the
   coordinator's port and DNS.

Usage: Scripts/check-kubernetes.py KUBERNETES_DIR KITS_DIR   (prints one line per check; exit 1 when one fails)
Run by Scripts/check-kubernetes.sh, which provides kubernetes-validate.
"""
import base64
import os
import shutil
import subprocess
import sys

import kubernetes_validate
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kustomize_subset  # noqa: E402

KUBERNETES_VERSIONS = ["1.28.0", "1.37.0"]


class Checks:
    def __init__(self):
        self.passed, self.failed = 0, 0

    def expect(self, condition, label, detail=""):
        if condition:
            self.passed += 1
            print(f"ok    {label}")
        else:
            self.failed += 1
            print(f"FAIL  {label}{': ' + detail if detail else ''}")
        return condition


def kit_files(folder):
    """The participant's start-up kit as provisioned: every file of its folder except the kubernetes/ manifests."""
    files = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            with open(path, "rb") as handle:
                files[name] = handle.read()
    return files


def kubectl_render(overlay):
    """`kubectl kustomize` output as objects, or None when no working kubectl is installed."""
    if shutil.which("kubectl") is None:
        return None
    result = subprocess.run(["kubectl", "kustomize", overlay], capture_output=True, text=True)
    if result.returncode != 0:
        return None
    return [item for item in yaml.safe_load_all(result.stdout) if item]


def key(item):
    return (item["kind"], item["metadata"]["name"])


def port_of(address):
    return int(address.rsplit(":", 1)[1])


def pod_checks(checks, name, workload, config, role):
    spec = workload["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    ports = {port["name"]: port["containerPort"] for port in container.get("ports", [])}
    mounts = {mount["mountPath"]: mount for mount in container.get("volumeMounts", [])}
    volumes = {volume["name"]: volume for volume in spec.get("volumes", [])}
    claims = {template["metadata"]["name"] for template in workload["spec"].get("volumeClaimTemplates", [])}
    context = spec.get("securityContext", {})
    own = container.get("securityContext", {})
    checks.expect(context.get("runAsNonRoot") is True and context.get("runAsUser", 0) > 0,
                  f"{name}: pod runs as a non-root user", f"securityContext {context}")
    checks.expect(own.get("readOnlyRootFilesystem") is True and own.get("allowPrivilegeEscalation") is False,
                  f"{name}: read-only root file system, no privilege escalation", f"{own}")
    image = container["image"]
    tag = kustomize_subset.split_image(image)[1]
    checks.expect(tag not in (None, "latest"), f"{name}: image {image} is pinned")
    checks.expect("requests" in container.get("resources", {}), f"{name}: resource requests set")
    metrics = config.get("metrics", {}).get("listen")
    checks.expect(metrics is not None and port_of(metrics) == ports.get("metrics"),
                  f"{name}: metrics.listen {metrics} is the container's metrics port {ports.get('metrics')}")
    for probe in ("livenessProbe", "readinessProbe"):
        checks.expect(probe in container, f"{name}: has a {probe}")
    for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = container.get(probe_name)
        if probe and "httpGet" in probe:
            checks.expect(probe["httpGet"]["path"] == "/healthz" and probe["httpGet"]["port"] in ("metrics", ports.get("metrics")),
                          f"{name}: {probe_name} GETs /healthz on the metrics port", f"{probe['httpGet']}")
        elif probe and "tcpSocket" in probe:
            checks.expect(probe["tcpSocket"]["port"] in ("grpc", ports.get("grpc")) and role == "coordinator",
                          f"{name}: {probe_name} connects to the coordinator's gRPC port", f"{probe['tcpSocket']}")
    kit_mount = next((path for path, mount in mounts.items() if mount["name"] == "kit"), None)
    config_file = "coordinator.yaml" if role == "coordinator" else "site.yaml"
    checks.expect(kit_mount is not None and container["args"] == ["--config", f"{kit_mount}/{config_file}"]
                  and volumes["kit"]["secret"]["secretName"] == "fedct-kit" and mounts[kit_mount].get("readOnly") is True,
                  f"{name}: starts with the kit's {config_file} from the Secret mounted read-only at {kit_mount}")
    state = mounts.get(config["state_dir"])
    checks.expect(state is not None and (state["name"] in claims or "persistentVolumeClaim" in volumes.get(state["name"], {})),
                  f"{name}: state_dir {config['state_dir']} is a persistent volume")
    checks.expect("/tmp" in mounts and "emptyDir" in volumes.get(mounts["/tmp"]["name"], {}), f"{name}: /tmp is an emptyDir")
    if role == "coordinator":
        checks.expect(port_of(config["listen"]) == ports.get("grpc"),
                      f"{name}: listen {config['listen']} is the container's grpc port {ports.get('grpc')}")
    else:
        data = mounts.get(config["data"]["dir"])
        source = volumes.get(data["name"], {}) if data else {}
        read_only_source = source.get("persistentVolumeClaim", source.get("nfs", {})).get("readOnly") is True
        checks.expect(data is not None and data.get("readOnly") is True and read_only_source,
                      f"{name}: data.dir {config['data']['dir']} is mounted read-only from a read-only source", f"{source}")
        cache = mounts.get(os.path.join(config["state_dir"], "preprocessed"))
        checks.expect(cache is not None and "persistentVolumeClaim" in volumes.get(cache["name"], {}),
                      f"{name}: the preprocessing cache has its own persistent volume")
    return ports


def check_overlay(checks, overlay, kits):
    name = os.path.basename(overlay.rstrip("/"))
    try:
        objects = kustomize_subset.render(overlay)
    except kustomize_subset.RenderError as error:
        checks.expect(False, f"{name}: renders", str(error))
        return
    checks.expect(True, f"{name}: renders ({len(objects)} objects)")
    reference = kubectl_render(overlay)
    if reference is not None:
        ours = sorted(objects, key=key)
        theirs = sorted(reference, key=key)
        checks.expect(ours == theirs, f"{name}: kubectl kustomize renders the same objects",
                      f"ours {[key(item) for item in ours]} vs kubectl {[key(item) for item in theirs]}")
    for item in objects:
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(item, version, strict=True)
                checks.expect(True, f"{name}: {item['kind']}/{item['metadata']['name']} is valid for Kubernetes {version}")
            except kubernetes_validate.ValidationError as error:
                checks.expect(False, f"{name}: {item['kind']}/{item['metadata']['name']} is valid for Kubernetes {version}",
                              f"{error.message} at {'/'.join(str(part) for part in error.path)}")
    secrets = [item for item in objects if item["kind"] == "Secret" and item["metadata"]["name"] == "fedct-kit"]
    if not checks.expect(len(secrets) == 1, f"{name}: has one Secret fedct-kit"):
        return
    decoded = {file: base64.b64decode(value) for file, value in secrets[0].get("data", {}).items()}
    expected = kit_files(os.path.join(kits, name))
    checks.expect(decoded == expected, f"{name}: Secret fedct-kit is fedctl provision's kit byte for byte "
                                       f"({', '.join(sorted(expected))})",
                  f"differs in {sorted(set(decoded) ^ set(expected)) or [f for f in expected if decoded.get(f) != expected[f]]}")
    role = "coordinator" if "coordinator.yaml" in decoded else "site"
    config = yaml.safe_load(decoded["coordinator.yaml" if role == "coordinator" else "site.yaml"])
    kind = "StatefulSet" if role == "coordinator" else "Deployment"
    workloads = [item for item in objects if item["kind"] == kind]
    if not checks.expect(len(workloads) == 1, f"{name}: one {kind} for the {role}"):
        return
    ports = pod_checks(checks, name, workloads[0], config, role)
    if role == "coordinator":
        services = [item for item in objects if item["kind"] == "Service"]
        checks.expect(any(port.get("targetPort") in ("grpc", ports.get("grpc")) for service in services
                          for port in service["spec"]["ports"]), f"{name}: a Service exposes the gRPC port")
        return
    policies = [item for item in objects if item["kind"] == "NetworkPolicy"]
    if not checks.expect(len(policies) == 1 and "Egress" in policies[0]["spec"]["policyTypes"],
                         f"{name}: one NetworkPolicy restricting egress"):
        return
    coordinator_port = port_of(config["coordinator"]["address"])
    allowed = True
    for rule in policies[0]["spec"].get("egress", []):
        rule_ports = {port["port"] for port in rule.get("ports", [])}
        to_coordinator = rule_ports == {coordinator_port} and all(
            "ipBlock" in peer and peer["ipBlock"]["cidr"].endswith("/32") for peer in rule.get("to", []))
        to_dns = rule_ports == {53} and all(
            peer.get("podSelector", {}).get("matchLabels", {}).get("k8s-app") == "kube-dns" for peer in rule.get("to", []))
        allowed = allowed and bool(rule.get("to")) and (to_coordinator or to_dns)
    checks.expect(allowed, f"{name}: egress only to one address on the coordinator's port {coordinator_port} and to DNS")


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    kubernetes, kits = sys.argv[1], sys.argv[2]
    checks = Checks()
    overlays = os.path.join(kubernetes, "overlays")
    for name in sorted(os.listdir(overlays)):
        check_overlay(checks, os.path.join(overlays, name), kits)
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed or not checks.passed else 0


if __name__ == "__main__":
    sys.exit(main())
