// Validate Kubernetes objects against the upstream schemas published on npm
// (@kubernetes-models/*: generated from the operators' API types; kubernetes-models: the
// Kubernetes OpenAPI). Reads a JSON array of objects on stdin; prints a JSON array with,
// for each object, null when it is valid or the schema's error message.
import { readFileSync } from "node:fs";

const PACKAGES = {
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
  "keda.sh": "@kubernetes-models/keda",
};

function modulePath(apiVersion, kind) {
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  if (group.includes(".")) {
    const pkg = PACKAGES[group];
    if (!pkg) throw new Error(`no schema package for API group ${group}`);
    return `${pkg}/${apiVersion}/${kind}`;
  }
  return `kubernetes-models/${apiVersion}/${kind}`;
}

const objects = JSON.parse(readFileSync(0, "utf8"));
const results = [];
for (const object of objects) {
  try {
    const module = await import(modulePath(object.apiVersion, object.kind));
    const Model = module[object.kind];
    if (typeof Model !== "function") throw new Error(`no model ${object.kind}`);
    new Model(object).validate();
    results.push(null);
  } catch (error) {
    results.push(String(error && error.message ? error.message : error));
  }
}
process.stdout.write(JSON.stringify(results) + "\n");
