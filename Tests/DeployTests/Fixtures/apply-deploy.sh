#!/usr/bin/env bash
# Applies what deploy/ renders (kustomize base, the HA overlay, the Helm chart) and the example configuration to
# kube-emulator with real kubectl, and checks the API server stored what was sent.
# Usage: apply-deploy.sh KUBE_EMULATOR REPO_ROOT [HELM]   (kubectl 1.32 on PATH). Exit 0 when every check passes.
set -uo pipefail
EMULATOR=${1:?usage: apply-deploy.sh KUBE_EMULATOR REPO_ROOT [HELM]}
ROOT=${2:?usage: apply-deploy.sh KUBE_EMULATOR REPO_ROOT [HELM]}
HELM=${3:-$ROOT/.build/pytools/bin/helm}
source "$(dirname "${BASH_SOURCE[0]}")/../../Support/emulator-checks.sh"
start_emulator "$EMULATOR"
K="kubectl --request-timeout=10s"

check "apply -k deploy/" 'daemonset.apps/speaker created' $K apply -k "$ROOT/deploy"
check "nine metallb.io CRDs" '^9$' bash -c "$K get crd -o name | grep -c '/[a-z0-9]*[.]metallb[.]io$'"
check "FRR-K8s's BGPSessionState CRD" 'bgpsessionstates.frrk8s.metallb.io' $K get crd bgpsessionstates.frrk8s.metallb.io -o name
check "namespace pod security" 'privileged' $K get namespace metallb-system -o 'jsonpath={.metadata.labels.pod-security\.kubernetes\.io/enforce}'
check "controller Deployment" '^1 65534 true$' $K get deployment controller -n metallb-system \
  -o 'jsonpath={.spec.replicas} {.spec.template.spec.securityContext.runAsUser} {.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem}'
check "speaker DaemonSet" '^true NET_RAW spec.nodeName$' $K get daemonset speaker -n metallb-system \
  -o 'jsonpath={.spec.template.spec.hostNetwork} {.spec.template.spec.containers[0].securityContext.capabilities.add[*]} {.spec.template.spec.containers[0].env[0].valueFrom.fieldRef.fieldPath}'
check "RBAC" 'role.rbac.authorization.k8s.io/speaker' $K get roles -n metallb-system -o name
check "cluster RBAC" 'clusterrolebinding.rbac.authorization.k8s.io/beacon:speaker' $K get clusterrolebindings -o name
check "metrics Services" 'controller-monitor.*speaker-monitor' bash -c "$K get services -n metallb-system -o name | tr '\n' ' '"
check "apply -k deploy/ again is a no-op" 'deployment.apps/controller unchanged' $K apply -k "$ROOT/deploy"
check "apply -k deploy/ha" 'deployment.apps/controller configured' $K apply -k "$ROOT/deploy/ha"
check "HA: 2 replicas, leader election" '^2 .*--leader-elect' $K get deployment controller -n metallb-system \
  -o 'jsonpath={.spec.replicas} {.spec.template.spec.containers[0].args}'
check "example configuration" 'l2advertisement.metallb.io/lan created' $K apply -f "$ROOT/deploy/examples/layer2.yaml"
check "BGP example" 'bgppeer.metallb.io/router created' $K apply -f "$ROOT/deploy/examples/bgp.yaml"
check "pools as kubectl shows them" 'lan +true +false' $K get ipaddresspools -n metallb-system

if [ -x "$HELM" ]; then
  "$HELM" template beacon "$ROOT/deploy/helm/beacon" -n beacon-test --set controller.replicas=2 > "$WORK/helm.yaml" 2>/dev/null
  check "namespace for the chart" 'namespace/beacon-test created' $K apply -f - <<<'{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"beacon-test"}}'
  check "apply helm template" 'daemonset.apps/beacon-speaker created' $K apply -f "$WORK/helm.yaml"
  check "helm: controller" '^2 beacon-controller$' $K get deployment beacon-controller -n beacon-test -o 'jsonpath={.spec.replicas} {.spec.template.spec.serviceAccountName}'
else
  fail "helm not found at $HELM (make pytools)"
fi
exit $FAILED
