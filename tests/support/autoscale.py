"""Plays the cluster autoscaler: moves the desired size of every node group
a blueprint owns by one, within its bounds, straight through the EKS API
(boto3). Prints how many node groups it moved.

usage: autoscale.py ENDPOINT BLUEPRINT
"""
import sys

import boto3

endpoint, blueprint = sys.argv[1], sys.argv[2]
eks = boto3.client("eks", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test")
moved = 0
for cluster in eks.list_clusters()["clusters"]:
    for name in eks.list_nodegroups(clusterName=cluster)["nodegroups"]:
        group = eks.describe_nodegroup(clusterName=cluster, nodegroupName=name)["nodegroup"]
        if group.get("tags", {}).get("blueprint:name") != blueprint:
            continue
        s = group["scalingConfig"]
        desired = s["desiredSize"] + 1 if s["desiredSize"] < s["maxSize"] else s["desiredSize"] - 1
        eks.update_nodegroup_config(clusterName=cluster, nodegroupName=name, scalingConfig={
            "minSize": s["minSize"], "maxSize": s["maxSize"], "desiredSize": desired})
        moved += 1
print(moved)
