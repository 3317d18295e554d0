#!/usr/bin/env bash
# Runs every kubectl verb Beacon's users need against kube-emulator and checks what kubectl prints.
# Usage: kubectl-verbs.sh /path/to/kube-emulator   (kubectl 1.32 on PATH). Exit 0 when every check passes.
set -uo pipefail
EMULATOR=${1:?usage: kubectl-verbs.sh KUBE_EMULATOR}
source "$(dirname "${BASH_SOURCE[0]}")/../../Support/emulator-checks.sh"
start_emulator "$EMULATOR"
K="kubectl --request-timeout=10s"

cat > "$WORK/objects.yaml" <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: metallb-system}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default, labels: {app: web}}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}, {name: https, port: 443, targetPort: 8443}]
---
apiVersion: v1
kind: Node
metadata: {name: node1, labels: {kubernetes.io/hostname: node1, node-role.kubernetes.io/worker: ""}}
status:
  conditions: [{type: Ready, status: "True"}]
  addresses: [{type: InternalIP, address: 192.0.2.11}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-abc, namespace: default, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: [10.244.1.5], conditions: {ready: true}, nodeName: node1}]
ports: [{name: http, port: 8080, protocol: TCP}]
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: beacon-controller, namespace: metallb-system}
spec: {holderIdentity: controller-0, leaseDurationSeconds: 15}
---
apiVersion: v1
kind: Secret
metadata: {name: memberlist, namespace: metallb-system}
stringData: {secretkey: not-so-secret}
YAML
cat > "$WORK/metallb.yaml" <<'YAML'
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: l2-pool, namespace: metallb-system}
spec: {addresses: [192.0.2.100-192.0.2.120]}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: l2, namespace: metallb-system}
spec: {ipAddressPools: [l2-pool]}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: router, namespace: metallb-system}
spec: {myASN: 64512, peerASN: 64513, peerAddress: 198.51.100.1}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: bgp, namespace: metallb-system}
spec: {ipAddressPools: [l2-pool], communities: [65535:65282]}
---
apiVersion: metallb.io/v1beta1
kind: Community
metadata: {name: communities, namespace: metallb-system}
spec: {communities: [{name: no-advertise, value: "65535:65282"}]}
---
apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata: {name: fast, namespace: metallb-system}
spec: {receiveInterval: 50, transmitInterval: 50}
YAML

check "version" 'Server Version: v1\.32' $K version
check "api-resources lists metallb kinds" 'ipaddresspools +metallb\.io/v1beta1 +true +IPAddressPool' $K api-resources
check "bgppeers served at the preferred v1beta2" 'bgppeers +metallb\.io/v1beta2' $K api-resources --api-group=metallb.io
check "create -f built-in kinds" 'service/web created' $K create -f "$WORK/objects.yaml"
check "create -f metallb CRs" 'ipaddresspool\.metallb\.io/l2-pool created' $K create -f "$WORK/metallb.yaml"
check_fails "create of an existing object" 'AlreadyExists.*"web" already exists' $K create -f "$WORK/objects.yaml"
check "get services (table)" 'web +LoadBalancer +10\.96\.[0-9.]+ +<pending> +80:3[0-9]+/TCP,443:3[0-9]+/TCP' $K get svc
check "get -o wide adds the selector" 'app=web' $K get svc web -o wide
check "get -o json" '"clusterIP": "10\.96\.' $K get svc web -o json
check "get -o yaml" 'ipFamilyPolicy: SingleStack' $K get svc web -o yaml
check "node status is set through its subresource" 'node/node1 patched' $K patch node node1 --subresource=status --type=merge -p '{"status":{"conditions":[{"type":"Ready","status":"True"}],"addresses":[{"type":"InternalIP","address":"192.0.2.11"}],"nodeInfo":{"kubeletVersion":"v1.32.0"}}}'
check "get nodes" 'node1 +Ready +worker +[0-9]+s +v1\.32\.0' $K get nodes
check "get endpointslices" 'web-abc +IPv4 +8080 +10\.244\.1\.5' $K get endpointslices
check "get leases" 'beacon-controller +controller-0' $K get lease -n metallb-system
check "get ipaddresspools shows CRD columns" 'l2-pool +true +false +\["192\.0\.2\.100-192\.0\.2\.120"\]' $K get ipaddresspools -n metallb-system
check "get bgppeers" 'router +198\.51\.100\.1 +64513' $K get bgppeers -n metallb-system
check "get -A across namespaces" 'metallb-system +l2 ' $K get l2advertisements -A
check "get by label selector" '^web ' $K get svc -l app=web --no-headers
check "apply -f creates" 'ipaddresspool\.metallb\.io/l2-pool (unchanged|configured)' $K apply -f "$WORK/metallb.yaml"
sed -i 's/192.0.2.120/192.0.2.130/' "$WORK/metallb.yaml"
check "apply -f updates a CR with a merge patch" 'ipaddresspool\.metallb\.io/l2-pool configured' $K apply -f "$WORK/metallb.yaml"
check "the update landed" '192\.0\.2\.100-192\.0\.2\.130' $K get ipaddresspool l2-pool -n metallb-system -o jsonpath='{.spec.addresses}'
check "apply -f a built-in kind" 'service/web configured' $K apply -f "$WORK/objects.yaml"
sed -i 's/targetPort: 8443/targetPort: 9443/; s/, {name: https, port: 443, targetPort: 9443}//' "$WORK/objects.yaml"
check "apply removes a port (strategic merge with \$setElementOrder)" 'service/web configured' $K apply -f "$WORK/objects.yaml"
check "only port 80 is left, node port kept" '^80:3[0-9]+$' $K get svc web -o jsonpath='{range .spec.ports[*]}{.port}:{.nodePort}{"\n"}{end}'
check "label" 'service/web labeled' $K label svc web tier=front
check "label shows" 'tier=front' $K get svc web --show-labels
check "annotate" 'service/web annotated' $K annotate svc web metallb.io/loadBalancerIPs=192.0.2.105
check "annotate a CR" 'ipaddresspool\.metallb\.io/l2-pool annotated' $K annotate ipaddresspool l2-pool -n metallb-system owner=net
check "patch (strategic)" 'service/web patched' $K patch svc web -p '{"spec":{"ports":[{"port":80,"appProtocol":"http"}]}}'
check "patch (merge) on a CR" 'ipaddresspool\.metallb\.io/l2-pool patched' $K patch ipaddresspool l2-pool -n metallb-system --type=merge -p '{"spec":{"autoAssign":false}}'
check "patch (json)" 'service/web patched' $K patch svc web --type=json -p '[{"op":"replace","path":"/spec/externalTrafficPolicy","value":"Local"}]'
check "patch the status subresource" 'service/web patched' $K patch svc web --subresource=status --type=merge -p '{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.105"}]}}}'
check "status has ipMode VIP" '"ipMode":"VIP"' $K get svc web -o jsonpath='{.status.loadBalancer.ingress[0]}'
check "external IP shows" 'web +LoadBalancer .* 192\.0\.2\.105 ' $K get svc web
cat > "$WORK/event.yaml" <<YAML
apiVersion: events.k8s.io/v1
kind: Event
metadata: {name: web.ipallocated, namespace: default}
eventTime: "$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)"
reportingController: metallb-controller
reportingInstance: controller-0
action: IPAllocated
reason: IPAllocated
type: Normal
note: 'Assigned IP ["192.0.2.105"]'
regarding: {kind: Service, namespace: default, name: web, apiVersion: v1, uid: "$($K get svc web -o jsonpath='{.metadata.uid}')"}
YAML
check "create an events.k8s.io event" 'created' $K create -f "$WORK/event.yaml"
check "describe shows fields and events" 'LoadBalancer Ingress: +192\.0\.2\.105' $K describe svc web
check "describe shows the event" 'Normal +IPAllocated .*metallb-controller +Assigned IP' $K describe svc web
check "describe shows endpoints from slices" 'Endpoints: +10\.244\.1\.5:8080' $K describe svc web
check "describe a CR" 'Addresses:' $K describe ipaddresspool l2-pool -n metallb-system
check "get events" 'IPAllocated +service/web' $K get events
# get -w: the watch prints the current object, then the change.
$K get svc web -w --output-watch-events > "$WORK/watch.out" 2>&1 &
WATCH=$!
sleep 1.5
$K label svc web watched=yes >/dev/null
sleep 1
kill $WATCH 2>/dev/null; wait $WATCH 2>/dev/null
check "get -w prints the change" 'MODIFIED +web ' cat "$WORK/watch.out"
check "dry run changes nothing" 'service "web" deleted \(server dry run\)' $K delete svc web --dry-run=server
check "still there" '^web ' $K get svc web --no-headers
check "delete" 'service "web" deleted' $K delete svc web
check_fails "get after delete" 'NotFound.*services "web" not found' $K get svc web
check "delete -f CRs" 'ipaddresspool\.metallb\.io "l2-pool" deleted' $K delete -f "$WORK/metallb.yaml"
check_fails "unknown kind" "doesn't have a resource type \"widgets\"" $K get widgets
check_fails "server-side apply is refused clearly" 'server-side apply is not supported' $K apply --server-side -f "$WORK/metallb.yaml"
check_fails "wrong token" 'Unauthorized' $K --token=wrong get svc
# Restart: objects survive in --data-dir.
kill "$PID"; wait "$PID" 2>/dev/null
"$EMULATOR" --port "$(sed -n 's#.*https://127.0.0.1:\([0-9]*\).*#\1#p' "$WORK/log" | head -1)" --token-file "$WORK/tokens" --data-dir "$WORK/data" > "$WORK/log2" 2>&1 &
PID=$!
for _ in $(seq 100); do grep -q listening "$WORK/log2" 2>/dev/null && break; sleep 0.05; done
check "objects survive a restart" 'node1 +Ready' $K get nodes
exit $FAILED
