//! Resource quantities in the objects the server stores, as kube-apiserver decodes them: every
//! quantity (a container's requests and limits, a pod's overhead, an emptyDir's size limit, a
//! claim's requests) is decoded into a `resource.Quantity` and written back in canonical form
//! (`1024Mi` is stored as `1Gi`, `1000m` as `1`, a JSON number as its string), so what a client
//! reads back is not always what it sent. A value that is not a quantity fails decoding, before
//! validation: `400 BadRequest`, "<Kind> in version \"v1\" cannot be handled as a <Kind>:
//! quantities must match the regular expression ...".

use crate::kinds::{pod_spec_mut, pod_spec_pointer};
use kube_rules::quantity;
use serde_json::Value as Json;

/// Every quantity map (`{resource: quantity}`) and single quantity of `object`, mutable.
fn each_quantity(kind: &str, object: &mut Json, visit: &mut dyn FnMut(&mut Json)) {
    let each_in = |map: &mut Json, visit: &mut dyn FnMut(&mut Json)| {
        for v in map.as_object_mut().into_iter().flat_map(|m| m.values_mut()) {
            visit(v);
        }
    };
    if kind == "PersistentVolumeClaim" {
        if let Some(resources) = object
            .pointer_mut("/spec/resources")
            .and_then(Json::as_object_mut)
        {
            for map in resources.values_mut() {
                each_in(map, visit);
            }
        }
        return;
    }
    let Some(spec) = pod_spec_mut(kind, object).and_then(Json::as_object_mut) else {
        return;
    };
    for (key, value) in spec.iter_mut() {
        match key.as_str() {
            "containers" | "initContainers" | "ephemeralContainers" => {
                for container in value.as_array_mut().into_iter().flatten() {
                    if let Some(resources) =
                        container.get_mut("resources").and_then(Json::as_object_mut)
                    {
                        for (part, map) in resources.iter_mut() {
                            if part == "limits" || part == "requests" {
                                each_in(map, visit);
                            }
                        }
                    }
                }
            }
            "overhead" => each_in(value, visit),
            "volumes" => {
                for volume in value.as_array_mut().into_iter().flatten() {
                    if let Some(limit) = volume.pointer_mut("/emptyDir/sizeLimit") {
                        visit(limit);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The text of a quantity as JSON gives it (a string, or an unquoted number).
fn text(value: &Json) -> Option<String> {
    match value {
        Json::String(s) => Some(s.trim().to_string()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Why `object` cannot be decoded, if one of its quantities is not a quantity.
pub fn check(kind: &str, object: &Json) -> Result<(), String> {
    // Every write comes through here (the kubelet's status writes too): only the kinds that
    // hold quantities are walked, on a copy, as the walk is the one `canonicalize` makes.
    if kind != "PersistentVolumeClaim" && pod_spec_pointer(kind).is_none() {
        return Ok(());
    }
    let mut copy = object.clone();
    let mut bad = false;
    each_quantity(kind, &mut copy, &mut |v| {
        if !v.is_null() && text(v).is_none_or(|t| !quantity::is_valid(&t)) {
            bad = true;
        }
    });
    if bad {
        Err(format!(
            "{kind} in version \"v1\" cannot be handled as a {kind}: {}",
            quantity::INVALID
        ))
    } else {
        Ok(())
    }
}

/// Writes every quantity of `object` in canonical form.
pub fn canonicalize(kind: &str, object: &mut Json) {
    each_quantity(kind, object, &mut |v| {
        if let Some(canonical) = text(v).and_then(|t| quantity::canonical(&t)) {
            *v = Json::String(canonical);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_deployments_quantities_are_stored_canonical() {
        let mut deployment = json!({"spec": {"template": {"spec": {
            "containers": [{"name": "c", "resources": {
                "limits": {"memory": "1024Mi", "cpu": "1000m"},
                "requests": {"memory": "1600Mi", "cpu": 0.5},
            }}],
            "initContainers": [{"name": "i", "resources": {"limits": {"memory": "2048Mi"}}}],
            "volumes": [{"name": "v", "emptyDir": {"sizeLimit": "1024Ki"}}],
        }}}});
        assert_eq!(check("Deployment", &deployment), Ok(()));
        canonicalize("Deployment", &mut deployment);
        let spec = &deployment["spec"]["template"]["spec"];
        assert_eq!(
            spec["containers"][0]["resources"],
            json!({"limits": {"memory": "1Gi", "cpu": "1"},
                   "requests": {"memory": "1600Mi", "cpu": "500m"}})
        );
        assert_eq!(
            spec["initContainers"][0]["resources"]["limits"]["memory"],
            "2Gi"
        );
        assert_eq!(spec["volumes"][0]["emptyDir"]["sizeLimit"], "1Mi");
    }

    #[test]
    fn a_value_that_is_no_quantity_fails_decoding() {
        let pod = json!({"spec": {"containers": [{"name": "c",
            "resources": {"limits": {"memory": "1 gb"}}}]}});
        let error = check("Pod", &pod).unwrap_err();
        assert!(
            error.starts_with(
                "Pod in version \"v1\" cannot be handled as a Pod: quantities must match"
            ),
            "{error}"
        );
        let mut claim = json!({"spec": {"resources": {"requests": {"storage": "10240Mi"}}}});
        canonicalize("PersistentVolumeClaim", &mut claim);
        assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "10Gi");
        assert_eq!(check("ConfigMap", &json!({"data": {"a": "1 gb"}})), Ok(()));
    }
}
