#!/usr/bin/env bash
# sync-chart.sh: copies into the Helm chart what config/ holds, so the chart never hand-keeps a copy: the CRDs and
# the manager's ClusterRole (generated from the markers by controller-gen), the leader-election and metrics
# roles, and the admission policy. `make manifests` runs it, so `make verify` fails when the chart has drifted.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
chart=charts/peapod

# crds/ and files/rbac/ are replaced whole, so what is removed from config/ leaves the chart too.
rm -f "${chart}"/crds/*.yaml "${chart}"/files/rbac/*.yaml
cp config/crd/bases/*.yaml "${chart}/crds/"

# The chart's roles take their rules from these copies (the "peapod.rulesOf" template), one role a file.
for role in role leader_election_role metrics_auth_role metrics_reader_role webhook_cert_role webhook_configuration_role \
  aggregate_view_role aggregate_edit_role; do
  if [ "$(grep -c '^kind:' "config/rbac/${role}.yaml")" != 1 ]; then
    echo "config/rbac/${role}.yaml holds more than one object: the chart reads the rules of one" >&2
    exit 1
  fi
  cp "config/rbac/${role}.yaml" "${chart}/files/rbac/"
done
cp config/policy/podgroup_validation.yaml "${chart}/files/"
# The webhook configuration controller-gen generates; the chart names it and points it at its Service.
cp config/webhook/manifests.yaml "${chart}/files/webhook.yaml"
