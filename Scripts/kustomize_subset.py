"""The part of kustomize FedCT's manifests use, so the tests render the overlays where no kustomize is installed.

Debian 12 packages no kustomize (and its kubectl 1.20 bundles kustomize 2.0); this implements exactly what
Deployments/kubernetes uses, as kustomize 5 does, and rejects any other field rather than ignoring it:
`resources` (files, or folders with a kustomization.yaml, in order), `namespace` (set on every namespaced object),
`images` (name -> newName/newTag on containers' images) and `patches` with a `target` (kind, name) and an inline
RFC 6902 JSON patch (add, replace, remove). Where kubectl's kustomize is available the tests compare the two outputs.
"""
import copy
import os

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}
CLUSTER_SCOPED = {"Namespace", "PersistentVolume", "StorageClass", "ClusterRole", "ClusterRoleBinding",
                  "CustomResourceDefinition", "PriorityClass"}


class RenderError(Exception):
    """A kustomization this renderer cannot render, naming the file and field."""


def render(folder):
    """The objects of the kustomization in `folder`, in kustomize's resource order."""
    path = os.path.join(folder, "kustomization.yaml")
    if not os.path.isfile(path):
        raise RenderError(f"{folder}: no kustomization.yaml")
    with open(path, encoding="utf-8") as handle:
        spec = yaml.safe_load(handle) or {}
    unknown = set(spec) - SUPPORTED
    if unknown:
        raise RenderError(f"{path}: fields {sorted(unknown)} are not implemented by Scripts/kustomize_subset.py")
    objects = []
    for entry in spec.get("resources", []):
        target = os.path.normpath(os.path.join(folder, entry))
        if os.path.isdir(target):
            objects += render(target)
        elif os.path.isfile(target):
            with open(target, encoding="utf-8") as handle:
                objects += [item for item in yaml.safe_load_all(handle) if item]
        else:
            raise RenderError(f"{path}: resource '{entry}' does not exist ({target})")
    for patch in spec.get("patches", []):
        apply_patch(objects, patch, path)
    for image in spec.get("images", []):
        set_image(objects, image, path)
    if "namespace" in spec:
        for item in objects:
            if item.get("kind") not in CLUSTER_SCOPED:
                item.setdefault("metadata", {})["namespace"] = spec["namespace"]
    return objects


def apply_patch(objects, patch, path):
    if set(patch) != {"target", "patch"} or set(patch["target"]) - {"kind", "name"}:
        raise RenderError(f"{path}: a patch needs exactly target (kind, name) and an inline JSON patch")
    target = patch["target"]
    matches = [item for item in objects
               if all(item.get("kind") == target["kind"] if key == "kind" else item["metadata"]["name"] == target["name"]
                      for key in target)]
    if not matches:
        raise RenderError(f"{path}: patch target {target} matches no resource")
    operations = yaml.safe_load(patch["patch"])
    for item in matches:
        for operation in operations:
            apply_operation(item, operation, path)


def apply_operation(document, operation, path):
    """One RFC 6902 operation (add, replace, remove) on `document`, in place."""
    op, pointer = operation.get("op"), operation.get("path", "")
    if op not in ("add", "replace", "remove"):
        raise RenderError(f"{path}: JSON patch op '{op}' is not implemented")
    keys = [key.replace("~1", "/").replace("~0", "~") for key in pointer.split("/")[1:]]
    if not keys:
        raise RenderError(f"{path}: JSON patch path '{pointer}' must name a field")
    parent = document
    for key in keys[:-1]:
        try:
            parent = parent[int(key)] if isinstance(parent, list) else parent[key]
        except (KeyError, IndexError, ValueError):
            raise RenderError(f"{path}: JSON patch path '{pointer}' does not exist") from None
    last = keys[-1]
    value = copy.deepcopy(operation.get("value"))
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if op == "add":
            parent.insert(index, value)
        elif index >= len(parent):
            raise RenderError(f"{path}: JSON patch path '{pointer}' does not exist")
        elif op == "replace":
            parent[index] = value
        else:
            del parent[index]
    else:
        if op != "add" and last not in parent:
            raise RenderError(f"{path}: JSON patch path '{pointer}' does not exist")
        if op == "remove":
            del parent[last]
        else:
            parent[last] = value


def set_image(objects, image, path):
    if "name" not in image or not set(image) <= {"name", "newName", "newTag"}:
        raise RenderError(f"{path}: an images entry needs name and only newName/newTag")
    for item in objects:
        spec = item.get("spec", {}).get("template", {}).get("spec", {})
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            name, tag = split_image(container["image"])
            if name == image["name"]:
                new_tag = image.get("newTag", tag)
                container["image"] = image.get("newName", name) + (f":{new_tag}" if new_tag else "")


def split_image(reference):
    """`registry:port/name:tag` -> (`registry:port/name`, `tag` or None)."""
    slash = reference.rfind("/")
    colon = reference.rfind(":")
    return (reference[:colon], reference[colon + 1:]) if colon > slash else (reference, None)
