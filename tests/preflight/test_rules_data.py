"""The naming rules and tables behind the offline checks: S3 buckets, IAM role ARNs, partitions, ECR URIs, GPUs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hf_sagemaker_tuning.preflight._reach import Reach
from hf_sagemaker_tuning.preflight.aws_names import bucket_name_problem, dns_suffix, partition_of, role_arn_problems
from hf_sagemaker_tuning.preflight.gpus import (
    GPU_BY_FAMILY,
    NATIVE_BF16_CPU_FAMILIES,
    cpu_has_native_bf16,
    cuda_problem,
    cuda_version,
    gpu_for,
)
from hf_sagemaker_tuning.preflight.image_uri import parse_ecr
from hf_sagemaker_tuning.preflight.service_model import training_instance_types
from hf_sagemaker_tuning.preflight.training_stack import BOUNDS, Bound, refused_values


@pytest.mark.parametrize(
    ("bucket", "fragment"),
    [
        ("ab", "3 to 63"),
        ("a" * 64, "3 to 63"),
        ("My-Bucket", "lower-case"),
        ("my_bucket", "lower-case"),
        ("-bucket", "start and end"),
        ("bucket.", "start and end"),
        ("my..bucket", "adjacent dots"),
        ("10.0.0.1", "IP address"),
        ("xn--bucket", "'xn--'"),
        ("sthree-bucket", "'sthree-'"),
        ("amzn-s3-demo-bucket", "'amzn-s3-demo-'"),
        ("bucket-s3alias", "'-s3alias'"),
        ("bucket--ol-s3", "'--ol-s3'"),
        ("bucket--x-s3", "'--x-s3'"),
        ("bucket--table-s3", "'--table-s3'"),
        ("bucket.mrap", "'.mrap'"),
    ],
)
def test_bucket_names_s3_refuses(bucket: str, fragment: str) -> None:
    problem = bucket_name_problem(bucket)
    assert problem is not None and fragment in problem


@pytest.mark.parametrize("bucket", ["abc", "a" * 63, "my.bucket-1", "10.0.0.1x", "xn-bucket", "s3alias-bucket"])
def test_bucket_names_s3_accepts(bucket: str) -> None:
    assert bucket_name_problem(bucket) is None


@pytest.mark.parametrize(
    ("region", "partition", "suffix"),
    [
        ("us-east-1", "aws", "amazonaws.com"),
        ("eu-central-2", "aws", "amazonaws.com"),
        ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
        ("cn-northwest-1", "aws-cn", "amazonaws.com.cn"),
        ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
        ("us-iso-east-1", "aws-iso", "c2s.ic.gov"),
    ],
)
def test_partitions_come_from_botocore(region: str, partition: str, suffix: str) -> None:
    assert partition_of(region) == partition
    assert dns_suffix(region) == suffix


@pytest.mark.parametrize(
    ("arn", "region", "fragment"),
    [
        ("arn:aws:iam::12345678901:role/R", None, "12-digit"),
        ("arn:aws:iam::123456789012:user/R", None, "must start with 'role/'"),
        ("arn:aws:iam::123456789012:role/" + "r" * 65, None, "1-64"),
        ("arn:aws:iam::123456789012:role/a b", None, "1-64"),
        ("arn:aws:iam::123456789012:role/path//", None, "1-64"),
        ("arn:aws:iam::123456789012:role/R", "cn-north-1", "partition aws-cn"),
        ("arn:aws-us-gov:iam::123456789012:role/R", "us-east-1", "partition aws"),
        ("arn:aws:s3:::bucket", None, "not an IAM role ARN"),
    ],
)
def test_role_arns_iam_refuses(arn: str, region: str | None, fragment: str) -> None:
    problems = role_arn_problems(arn, region)
    assert any(fragment in p for p in problems), problems


@pytest.mark.parametrize(
    ("arn", "region"),
    [
        ("arn:aws:iam::123456789012:role/SageMakerRole", "us-east-1"),
        ("arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole-2024", "eu-west-1"),
        ("arn:aws-cn:iam::123456789012:role/R+=,.@-_", "cn-north-1"),
        ("arn:aws-us-gov:iam::123456789012:role/a/b/c/R", "us-gov-east-1"),
    ],
)
def test_role_arns_iam_accepts(arn: str, region: str) -> None:
    assert role_arn_problems(arn, region) == []


@pytest.mark.parametrize(
    ("uri", "region", "repository", "built_for"),
    [
        (
            "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-training:"
            "2.8.0-transformers4.56.2-gpu-py312-cu128-ubuntu22.04",
            "us-east-1",
            "huggingface-pytorch-training",
            "gpu",
        ),
        ("727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/pytorch-training:2.3-cpu-py311", "cn-north-1", None, "cpu"),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/train:cu121", "eu-west-1", "team/train", "gpu"),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/train@sha256:" + "a" * 64, "eu-west-1", "train", None),
        (
            "123456789012.dkr.ecr.us-west-2.amazonaws.com/pytorch-training-neuronx:2.1-neuronx-py310",
            None,
            None,
            "neuron",
        ),
    ],
)
def test_ecr_uris_are_parsed(uri: str, region: str | None, repository: str | None, built_for: str | None) -> None:
    image = parse_ecr(uri)
    assert image is not None
    assert region is None or image.region == region
    assert repository is None or image.repository == repository
    assert image.built_for == built_for


@pytest.mark.parametrize(
    "uri",
    [
        "huggingface/transformers-pytorch-gpu:latest",
        "public.ecr.aws/hf/train:1",
        "12345.dkr.ecr.us-east-1.amazonaws.com/train:1",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/Train:1",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/train",
    ],
)
def test_non_ecr_uris_are_not_parsed(uri: str) -> None:
    assert parse_ecr(uri) is None


@pytest.mark.parametrize(
    ("instance", "model", "bf16"),
    [
        ("ml.p3.2xlarge", "NVIDIA V100", False),
        ("ml.g4dn.xlarge", "NVIDIA T4", False),
        ("ml.g5.xlarge", "NVIDIA A10G", True),
        ("ml.g6.xlarge", "NVIDIA L4", True),
        ("ml.g6e.xlarge", "NVIDIA L40S", True),
        ("ml.p4d.24xlarge", "NVIDIA A100", True),
        ("ml.p4de.24xlarge", "NVIDIA A100", True),
        ("ml.p5.48xlarge", "NVIDIA H100", True),
        ("ml.p5e.48xlarge", "NVIDIA H200", True),
        ("ml.p5en.48xlarge", "NVIDIA H200", True),
    ],
)
def test_gpu_table(instance: str, model: str, bf16: bool) -> None:
    gpu = gpu_for(instance)
    assert gpu is not None and gpu.model == model and gpu.bf16 is bf16


def test_cpu_trainium_and_unknown_families_have_no_gpu() -> None:
    assert gpu_for("ml.m5.xlarge") is None
    assert gpu_for("ml.trn1.2xlarge") is None
    assert gpu_for("ml.zz9.xlarge") is None


def test_native_bf16_cpu_families_are_botocore_families() -> None:
    families = {t.split(".")[1] for t in training_instance_types()}
    assert families >= NATIVE_BF16_CPU_FAMILIES
    assert cpu_has_native_bf16("ml.m7i.xlarge") and not cpu_has_native_bf16("ml.m5.xlarge")


def test_every_gpu_family_in_the_table_is_a_p_or_g_family() -> None:
    # the table's keys are instance families as botocore spells them (a typo would silently never match)
    families = {t.split(".")[1] for t in training_instance_types()}
    for family in GPU_BY_FAMILY:
        assert family[0] in "pg"
        assert family in families or family == "gr6", family


@pytest.mark.parametrize(
    ("tag", "cuda"),
    [
        ("2.8.0-transformers4.56.2-gpu-py312-cu129-ubuntu22.04", (12, 9)),
        ("cu110-ubuntu18.04", (11, 0)),
        ("torch2.3-cu121", (12, 1)),
        ("2.8.0-cpu-py312", None),
        ("cuda-latest", None),
    ],
)
def test_cuda_versions_are_read_from_tags(tag: str, cuda: tuple[int, int] | None) -> None:
    assert cuda_version(tag) == cuda


def test_every_gpu_in_the_table_has_a_minimum_cuda_but_the_k80() -> None:
    assert {family for family, gpu in GPU_BY_FAMILY.items() if gpu.min_cuda is None} == {"p2"}
    assert cuda_problem((12, 4), "ml.p6-b200.48xlarge") is not None
    assert cuda_problem((12, 8), "ml.p6-b200.48xlarge") is None
    assert cuda_problem((11, 7), "ml.m5.xlarge") is None


@given(
    rule=st.sampled_from(BOUNDS),
    ends=st.tuples(st.floats(-2, 2, allow_nan=False), st.floats(-2, 2, allow_nan=False)).filter(lambda t: t[0] < t[1]),
    share=st.floats(0, 1),
)
def test_a_range_is_flagged_whenever_some_value_in_it_is_refused(
    rule: Bound, ends: tuple[float, float], share: float
) -> None:
    # bounds are intervals, so checking a range's two (inclusive) ends finds every refused value inside it
    low, high = ends
    inside = min(high, max(low, low + share * (high - low)))
    found = Reach("search_space.x", interval=(low, high))
    if rule.refuses(inside):
        assert refused_values(found, rule)
