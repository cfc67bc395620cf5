"""Writes tiny models, token ids and reference logits for HfEquivalenceTest.

Run from the repository root:  python3 tools/reference/generate_fixtures.py
Output: worker/src/test/resources/hf-reference/<case>/{config.json, weights, reference.safetensors}
"""
import json
import os
import shutil

import numpy as np

from hf_reference import bf16_round, forward, write_safetensors

OUT = os.path.join("worker", "src", "test", "resources", "hf-reference")

BASE = dict(vocab_size=64, hidden_size=32, intermediate_size=40, num_hidden_layers=2,
            rms_norm_eps=1e-6, max_position_embeddings=256, hidden_act="silu")

CASES = {
    # Llama 3 style: GQA, llama3 rope scaling, tied embeddings, attention_bias on q/k/v/o
    "llama3-rope-scaling-tied-bias": dict(
        architectures=["LlamaForCausalLM"], model_type="llama", num_attention_heads=4,
        num_key_value_heads=2, head_dim=8, rope_theta=500000.0, tie_word_embeddings=True,
        attention_bias=True,
        rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                          high_freq_factor=4.0, original_max_position_embeddings=16),
        dtype="F32", shards=1),
    # Qwen2: q/k/v bias (no o bias), GQA, untied, weights in two shards
    "qwen2-qkv-bias-sharded": dict(
        architectures=["Qwen2ForCausalLM"], model_type="qwen2", num_attention_heads=4,
        num_key_value_heads=1, head_dim=8, rope_theta=1000000.0, tie_word_embeddings=False,
        dtype="F32", shards=2),
    # Qwen3: q/k RMSNorm, head_dim larger than hidden/heads, tied
    "qwen3-qk-norm-head-dim": dict(
        architectures=["Qwen3ForCausalLM"], model_type="qwen3", num_attention_heads=4,
        num_key_value_heads=2, head_dim=16, rope_theta=1000000.0, tie_word_embeddings=True,
        attention_bias=False, dtype="F32", shards=1),
    # Mistral: bf16 weights, 4 query heads on 1 KV head
    "mistral-bf16": dict(
        architectures=["MistralForCausalLM"], model_type="mistral", num_attention_heads=4,
        num_key_value_heads=1, head_dim=8, rope_theta=10000.0, tie_word_embeddings=False,
        dtype="BF16", shards=1),
}

# two sequences; the second is shorter, so the Java side pads it and must mask the padding
IDS = [[1, 17, 5, 42, 63, 0, 8, 33, 2, 19, 7, 50], [3, 9, 27, 11, 60, 4, 2]]


def weights(cfg, rng):
    H, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    nh, nkv, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    arch = cfg["architectures"][0]
    qkv_bias = arch == "Qwen2ForCausalLM" or cfg.get("attention_bias", False)
    o_bias = arch == "LlamaForCausalLM" and cfg.get("attention_bias", False)
    W = {"model.embed_tokens.weight": rng.normal(0, 1, (V, H))}

    def lin(name, out, inp, bias):
        W[name + ".weight"] = rng.normal(0, inp ** -0.5, (out, inp))
        if bias:
            W[name + ".bias"] = rng.normal(0, 0.1, (out,))

    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        W[p + "input_layernorm.weight"] = 1 + rng.normal(0, 0.1, (H,))
        lin(p + "self_attn.q_proj", nh * hd, H, qkv_bias)
        lin(p + "self_attn.k_proj", nkv * hd, H, qkv_bias)
        lin(p + "self_attn.v_proj", nkv * hd, H, qkv_bias)
        lin(p + "self_attn.o_proj", H, nh * hd, o_bias)
        if arch == "Qwen3ForCausalLM":
            W[p + "self_attn.q_norm.weight"] = 1 + rng.normal(0, 0.1, (hd,))
            W[p + "self_attn.k_norm.weight"] = 1 + rng.normal(0, 0.1, (hd,))
        W[p + "post_attention_layernorm.weight"] = 1 + rng.normal(0, 0.1, (H,))
        lin(p + "mlp.gate_proj", I, H, False)
        lin(p + "mlp.up_proj", I, H, False)
        lin(p + "mlp.down_proj", H, I, False)
    W["model.norm.weight"] = 1 + rng.normal(0, 0.1, (H,))
    if not cfg["tie_word_embeddings"]:
        W["lm_head.weight"] = rng.normal(0, H ** -0.5, (V, H))
    return {k: v.astype(np.float32) for k, v in W.items()}


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    for seed, (name, case) in enumerate(CASES.items()):
        case = dict(case)
        dtype, shards = case.pop("dtype"), case.pop("shards")
        cfg = dict(BASE, **case)
        cfg["torch_dtype"] = {"F32": "float32", "BF16": "bfloat16"}[dtype]
        d = os.path.join(OUT, name)
        os.makedirs(d)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2, sort_keys=True)
        W = weights(cfg, np.random.default_rng(1000 + seed))
        if dtype == "BF16":
            W = {k: bf16_round(v) for k, v in W.items()}
        names = sorted(W)
        if shards == 1:
            write_safetensors(os.path.join(d, "model.safetensors"), {n: (dtype, W[n]) for n in names})
        else:
            per = (len(names) + shards - 1) // shards
            weight_map = {}
            for s in range(shards):
                file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
                part = names[s * per:(s + 1) * per]
                write_safetensors(os.path.join(d, file), {n: (dtype, W[n]) for n in part})
                weight_map.update({n: file for n in part})
            with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
                json.dump({"metadata": {"total_size": sum(W[n].nbytes for n in names)},
                           "weight_map": weight_map}, f, indent=2, sort_keys=True)
        W64 = {k: v.astype(np.float64) for k, v in W.items()}
        ref = {}
        for r, ids in enumerate(IDS):
            ref[f"ids.{r}"] = ("I64", np.asarray(ids, dtype=np.int64))
            ref[f"logits.{r}"] = ("F32", forward(cfg, W64, ids).astype(np.float32))
        write_safetensors(os.path.join(d, "reference.safetensors"), ref)
        print(name, "ok")


if __name__ == "__main__":
    main()
