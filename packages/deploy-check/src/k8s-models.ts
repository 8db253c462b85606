import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';

type Validate = (object: unknown) => void;

function model<T>(Model: new (data: T) => { validate(): void }): Validate {
  return (object) => new Model(object as T).validate();
}

/**
 * Validators by `apiVersion/kind`, from the Kubernetes OpenAPI schemas (kubernetes-models)
 * and KEDA's CRD schemas (@kubernetes-models/keda). They check types, required fields and
 * enums; like the API server's non-strict mode they do not reject unknown fields.
 */
const validators: Record<string, Validate> = {
  'v1/Namespace': model(Namespace),
  'v1/ConfigMap': model(ConfigMap),
  'v1/Secret': (object) => model(Secret)(withUnfoldedData(object)),
  'v1/Service': model(Service),
  'apps/v1/Deployment': model(Deployment),
  'batch/v1/Job': model(Job),
  'networking.k8s.io/v1/Ingress': model(Ingress),
  'policy/v1/PodDisruptionBudget': model(PodDisruptionBudget),
  'autoscaling/v2/HorizontalPodAutoscaler': model(HorizontalPodAutoscaler),
  'keda.sh/v1alpha1/ScaledObject': model(ScaledObject),
  'keda.sh/v1alpha1/TriggerAuthentication': model(TriggerAuthentication),
};

/**
 * kustomize folds long base64 values over several lines; the API server's decoder (Go's
 * encoding/base64) skips line breaks, the schema's `byte` format does not.
 */
function withUnfoldedData(object: unknown): unknown {
  const secret = object as { data?: Record<string, string> };
  if (!secret.data) return object;
  const data = Object.fromEntries(
    Object.entries(secret.data).map(([k, v]) => [k, v.replace(/[\r\n]/g, '')]),
  );
  return { ...secret, data };
}

/** Throws with the schema's complaint, or when no schema is known for the kind. */
export function validateObject(object: { apiVersion: string; kind: string }): void {
  const validate = validators[`${object.apiVersion}/${object.kind}`];
  if (!validate) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  validate(object);
}
