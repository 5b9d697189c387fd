"""One MicroCoder-GRPO update: scored groups in, new weights and metrics out.

The order of work for one batch (one policy step):
1. flatten the groups; group advantages from the rewards (statistics before any
   mask; scaled by the group's std, the batch's, or not at all: Dr. GRPO);
2. the truncation mask (seeded by --seed and the step), zeroing advantages and
   removing masked samples' tokens from the loss;
3. old log-probs: the policy before any update, recomputed here (the sampler's
   are compared with them, not trusted); entropy alongside; reference log-probs
   when the KL term is on. With one mini-batch they come from the update's own
   forward pass (detached): the same numbers without a second pass;
4. K mini-batches, each one optimizer step, each split into micro-batches by a
   token budget for gradient accumulation; the loss is aggregated over the whole
   mini-batch, so the micro-batch split does not change it. The policy loss of
   each token may be weighted by the sampler correction (mc/train/correction.py);
   KL and entropy terms are added unweighted. A gradient that is not finite is
   dropped (no optimizer step), so NaN never reaches the weights.
A `Trainer` keeps model and optimizer in memory across steps (mc train does);
`mc train-step` loads one from a checkpoint, runs one step and saves it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

from mc import lora
from mc.errors import McError, McUsageError
from mc.train.advantages import ADVANTAGES
from mc.train.correction import is_weights, rejection_mask
from mc.train.checkpoint import load_optimizer_tensors, model_ref, read_trainer_state, restore_rng, save_checkpoint
from mc.train.groups import check_vocabulary
from mc.train import distributed
from mc.train.logprobs import LogprobModel
from mc.train.losses import LOG_RATIO_BOUND, aggregate, clipped_surrogate, kl_k3
from mc.train.masks import truncation_mask


@dataclass
class TrainConfig:
    clip_low: float = 0.2
    clip_high: float = 0.28
    dual_clip: float | None = 3.0  # None or 0: off
    kl_coef: float = 0.0
    loss_agg: str = "token-mean"
    truncation_mask: str = "conditional"
    ctm_rho: float = 0.1
    scale_rewards: str = "group"  # group | batch | none (Dr. GRPO)
    entropy_coef: float = 0.0
    rollout_is: str = "none"  # none | token | sequence: truncated importance sampling against the sampler
    rollout_is_cap: float = 2.0
    rollout_rs: str = "none"  # none | token | sequence | geometric: reject extreme sampler ratios
    rollout_rs_low: float = 0.5
    rollout_rs_high: float = 2.0
    dynamic_sampling: bool = False  # drop groups whose rewards are all equal
    batch_groups: int | None = None  # train-step: train on at most this many groups (after dynamic sampling)
    mini_batches: int = 1
    micro_batch_tokens: int = 16384
    lr: float = 1e-6
    warmup_steps: int = 0
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    seed: int = 0
    max_tokens: int | None = None  # L_max for seq-mean-token-sum-norm (default: from the groups)
    bf16: bool = False
    grad_checkpointing: bool = False
    preset: str = "microcoder"
    ref_model: str | None = None
    fsdp: bool = False  # under torchrun: FSDP2 fully_shard instead of DDP
    lora_rank: int = 0  # 0: full fine-tuning; else train a LoRA adapter of this rank (mc.lora)
    lora_alpha: float | None = None  # default 2 x rank
    lora_targets: str | None = None  # default all-linear


@dataclass
class Batch:
    """Samples flattened across groups (N samples)."""

    prompt_ids: list[list[int]]
    response_ids: list[list[int]]
    sampler_logprobs: list[list[float] | None]
    rewards: torch.Tensor  # [N]
    advantages: torch.Tensor  # [N], after the truncation mask
    temperature: torch.Tensor  # [N]
    masked: torch.Tensor  # [N] bool: removed by the truncation mask
    eligible: torch.Tensor  # [N] bool
    group_of: list[int]  # [N] group index
    zero_variance_groups: int
    groups: int
    max_tokens: int


def build_batch(groups: list[dict], config: TrainConfig, step: int) -> Batch:
    prompt_ids, response_ids, sampler_lps, group_of = [], [], [], []
    rewards, temps, truncated, non_incorrect, repeat = [], [], [], [], []
    max_tokens = config.max_tokens or 0
    needs_sampler = config.rollout_is != "none" or config.rollout_rs != "none"
    for g_index, group in enumerate(groups):
        samples = group["samples"]
        for s in samples:
            if "reward" not in s:
                raise McError(f"group {g_index} ({group['problem'].get('id')}): samples have no reward", "pipe the groups through `mc reward` first")
            if not isinstance(s.get("token_ids"), list) or not s["token_ids"]:
                raise McError(f"group {g_index} ({group['problem'].get('id')}): a sample has no token_ids", "train on groups written by `mc rollout`")
            if needs_sampler and not isinstance(s.get("logprobs"), list):
                raise McError(f"group {g_index} ({group['problem'].get('id')}): a sample has no sampler logprobs, which "
                              f"--rollout-is / --rollout-rs need", "train on groups written by `mc rollout`, or drop those flags")
        rollout_max = (group.get("rollout") or {}).get("max_tokens")
        if not config.max_tokens:
            max_tokens = max(max_tokens, rollout_max or max(len(s["token_ids"]) for s in samples))
        for s in samples:
            prompt_ids.append(list(group["prompt_ids"]))
            response_ids.append(list(s["token_ids"]))
            sampler_lps.append(s.get("logprobs"))
            rewards.append(float(s["reward"]))
            temps.append(float(s.get("temperature") or 1.0))  # absent, null or 0 (greedy): T = 1
            truncated.append(s.get("finish_reason") == "length")
            non_incorrect.append(bool(s.get("non_incorrect", False)))
            repeat.append(bool(s.get("repeat", False)))
            group_of.append(g_index)
    advantages, zero_variance = ADVANTAGES[config.scale_rewards](torch.tensor(rewards, dtype=torch.float64),
                                                                 torch.tensor(group_of, dtype=torch.long))
    generator = torch.Generator().manual_seed(config.seed * 1_000_003 + step)
    masked, eligible = truncation_mask(torch.tensor(truncated), torch.tensor(non_incorrect), torch.tensor(repeat),
                                       config.truncation_mask, config.ctm_rho, generator)
    adv = advantages.float() * (~masked).float()
    return Batch(prompt_ids, response_ids, sampler_lps, torch.tensor(rewards), adv, torch.tensor(temps), masked, eligible,
                 group_of, int(zero_variance.sum()), len(groups), max_tokens)


def micro_batches(indices: list[int], lengths: list[int], budget: int) -> list[list[int]]:
    """Consecutive samples packed while (rows x longest row) stays within the token budget."""
    batches, current, longest = [], [], 0
    for i in indices:
        new_longest = max(longest, lengths[i])
        if current and new_longest * (len(current) + 1) > budget:
            batches.append(current)
            current, new_longest = [], lengths[i]
        current.append(i)
        longest = new_longest
    if current:
        batches.append(current)
    return batches


def disable_dropout(model: torch.nn.Module) -> int:
    """Turn off every dropout in `model`; returns how many were on. RL compares log-probs of
    the same tokens from several forward passes (the sampler's, the old policy's, each
    update's, the KL reference's): dropout would make them differ at random, so an
    on-policy ratio would not be 1. Pretrained Llama/Qwen configs have none; GPT-2-style
    ones keep 0.1. (TRL's disable_dropout does the same.) Both kinds: nn.Dropout modules,
    and the float rates some attention layers pass to their attention function."""
    turned_off = 0
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout) and module.p > 0:
            module.p = 0.0
            turned_off += 1
        for name in ("attention_dropout", "dropout"):
            rate = getattr(module, name, None)
            if type(rate) is float and rate > 0:
                setattr(module, name, 0.0)
                turned_off += 1
    return turned_off


class Trainer:
    def __init__(self, policy_path: str, config: TrainConfig, device: str | None = None):
        from mc.model import load_causal_lm, resolve_device
        from mc.outputs import same_file

        self.config = config
        self.policy_path = policy_path
        self.world = distributed.init_world()  # None unless under torchrun
        self.device = resolve_device(device) if device else distributed.device_for(self.world)
        # Read (and check) the trainer state before the weights: a corrupt meta.json
        # should not cost a model load first.
        state = read_trainer_state(policy_path)
        # With LoRA (--lora-rank, or a LoRA checkpoint as the policy) self.adapter is the peft
        # model (it saves the adapter) and self.model the HF model inside it (mc.lora.load_policy).
        spec = lora.spec_from_flags(config.lora_rank, config.lora_alpha, config.lora_targets)
        if config.fsdp and (spec is not None or lora.is_adapter(policy_path)):
            raise McUsageError("--fsdp with LoRA is not supported: FSDP2 would shard the frozen base and the "
                               "adapter together", "drop --fsdp: under torchrun LoRA runs with DDP, and its "
                               "optimizer state is the adapter's alone")
        self.tokenizer, self.model, self.adapter, spec = lora.load_policy(policy_path, spec, torch.float32, self.device,
                                                                          seed=config.seed)
        if spec is not None:
            config.lora_rank, config.lora_alpha, config.lora_targets = spec.rank, spec.alpha, spec.targets
        # The folder a sampling engine starts from: the base of an adapter (vLLM is then sent the merged weights).
        self.engine_path = lora.model_source(policy_path)
        if config.grad_checkpointing:
            self.model.gradient_checkpointing_enable()
        self.model.train()
        self.dropout_disabled = disable_dropout(self.model)
        # The module that runs forward passes: the HF model behind the chunked log-prob
        # head, wrapped in DDP or FSDP2 under torchrun (self.model stays the HF model).
        self.policy = LogprobModel(self.model)
        if self.world:
            self.policy = distributed.wrap(self.policy, self.world, config.fsdp, self.device)
        # Only what trains (LoRA: the adapter): AdamW keeps two moments per parameter it is given.
        self.optimizer = torch.optim.AdamW([p for p in self.policy.parameters() if p.requires_grad], lr=config.lr, weight_decay=config.weight_decay,
                                           betas=(0.9, 0.999), eps=1e-8)
        self.step = state.meta.get("step", 0)
        self.optimizer_steps = state.meta.get("optimizer_steps", 0)
        # mc train's position in its problem order (dynamic sampling reads more than step x batch); None: not recorded
        self.data_position = state.meta.get("data_position")
        if self.data_position is not None and (not isinstance(self.data_position, int) or isinstance(self.data_position, bool)
                                               or self.data_position < 0):
            raise McError(f"{policy_path}/meta.json: data_position must be a non-negative integer, got {self.data_position!r}",
                          "restore the checkpoint, or delete that key to resume at step x batch problems")
        self.ref_path = model_ref(config.ref_model or state.meta.get("ref_model") or policy_path)
        self._load_trainer_state(state)
        self.ref = None
        if config.kl_coef > 0 and self.adapter is not None and (
                self.ref_path == self.adapter_base or same_file(self.ref_path, self.adapter_base)):
            self.ref = lora.adapter_off(self.adapter, LogprobModel(self.model))  # the base: the policy, adapter off
        elif config.kl_coef > 0:
            ref = load_causal_lm(self.ref_path, torch.float32, self.device, what="reference model").eval()
            self.ref = LogprobModel(ref)
            if self.world and config.fsdp:
                self.ref = distributed.wrap(self.ref, self.world, True, self.device)
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        self.vocab_size = self.model.get_input_embeddings().num_embeddings

    def _load_trainer_state(self, state) -> None:
        if state.optimizer is None:
            return  # a fresh model (or one whose moments are lost: read_trainer_state warned)
        if self.world and self.config.fsdp:
            distributed.load_full_optimizer(self.policy, self.optimizer, state.optimizer, "model.")
        else:  # DDP keeps the HF model's own parameters: load by their names
            load_optimizer_tensors(self.saved_model, self.optimizer, state.optimizer, state.optimizer_file)
        if state.rng is not None:
            restore_rng(state.rng, state.rng_file)

    # -- tensors for a set of samples -----------------------------------------

    def _tensors(self, batch: Batch, rows: list[int]):
        seqs = [batch.prompt_ids[i] + batch.response_ids[i] for i in rows]
        width = max(len(s) for s in seqs)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        response = torch.zeros((len(rows), width - 1), dtype=torch.bool)  # aligned with next-token positions
        for k, (i, seq) in enumerate(zip(rows, seqs)):
            ids[k, : len(seq)] = torch.tensor(seq)
            attention[k, : len(seq)] = 1
            start = len(batch.prompt_ids[i])
            response[k, start - 1 : len(seq) - 1] = True
        return ids.to(self.device), attention.to(self.device), response.to(self.device)

    def _logprobs(self, model, batch: Batch, rows: list[int], with_entropy: bool = False):
        ids, attention, response = self._tensors(batch, rows)
        temperature = batch.temperature[rows].to(self.device)
        autocast = torch.autocast("cuda", dtype=torch.bfloat16) if self.config.bf16 and self.device.type == "cuda" else _Null()
        with autocast:
            logprobs, entropy = model(ids, attention, temperature, with_entropy=with_entropy)
        return logprobs.float(), (entropy.float() if entropy is not None else None), response

    # -- one step ---------------------------------------------------------------

    def _mine(self, rows_by_group: list[list[int]]) -> list[int]:
        """This rank's rows: the groups dealt in turn to the ranks (all of them in one process)."""
        if self.world is None:
            return [i for rows in rows_by_group for i in rows]
        return [i for rows in rows_by_group[self.world.rank :: self.world.size] for i in rows]

    def _micro_batches(self, rows: list[int], lengths: list[int]) -> list[list[int] | None]:
        """Micro-batches of `rows`, padded with None (a zero-weight pass) up to the
        busiest rank's count: DDP and FSDP2 collectives need every rank in every pass."""
        micros: list[list[int] | None] = micro_batches(rows, lengths, self.config.micro_batch_tokens)
        most = int(distributed.all_max(len(micros), self.world, self.device))
        return micros + [None] * (most - len(micros))

    def train_step(self, groups: list[dict], on_phase: Callable[[str], None] | None = None) -> list[dict]:
        """One policy step on `groups`; `on_phase` hears each part as it starts
        ("old log-probs", "mini-batch 1/2", ...), for a progress display."""
        c = self.config
        if not groups:
            raise McError("no groups to train on")
        check_vocabulary(groups, self.vocab_size)
        phase = on_phase or (lambda text: None)
        timings: dict[str, float] = {}
        started = time.monotonic()
        batch = build_batch(groups, c, self.step)
        n = len(batch.response_ids)
        lengths = [len(p) + len(r) for p, r in zip(batch.prompt_ids, batch.response_ids)]
        rows_of_group: dict[int, list[int]] = {}
        for i, g in enumerate(batch.group_of):
            rows_of_group.setdefault(g, []).append(i)
        group_ids = sorted(rows_of_group)
        per_mini = math.ceil(len(group_ids) / c.mini_batches)
        minis = [group_ids[k * per_mini : (k + 1) * per_mini] for k in range(c.mini_batches)]
        minis = [m for m in minis if m]

        # Old log-probs: the policy before any update of this step. With one mini-batch
        # the update is made by that very policy, so they are the detached log-probs of
        # the update's own forward pass and need no pass of their own (verl does the same).
        # The reference model's log-probs (KL term) always take one.
        t0 = time.monotonic()
        old: dict[int, torch.Tensor] = {}
        ref: dict[int, torch.Tensor] = {}
        stats = _SampleStats()
        separate_old = c.mini_batches > 1
        if separate_old or self.ref is not None:
            phase("old log-probs" if separate_old else "reference log-probs")
            mine = [i for m in minis for i in self._mine([rows_of_group[g] for g in m])]
            with torch.no_grad():
                for rows in self._micro_batches(mine, lengths):
                    pad = rows is None
                    rows = rows or [0]
                    if separate_old:
                        logprobs, entropy, response = self._logprobs(self.policy, batch, rows, with_entropy=True)
                        if not pad:
                            lp, valid = _response_tokens(logprobs, response)
                            stats.add_rows(lp, valid, _response_tokens(entropy, response)[0],
                                           [batch.sampler_logprobs[i] for i in rows])
                            for k, i in enumerate(rows):
                                old[i] = logprobs[k][response[k]].cpu()
                    if self.ref is not None:
                        ref_lp, _, response = self._logprobs(self.ref, batch, rows)
                        for k, i in enumerate(rows if not pad else []):
                            ref[i] = ref_lp[k][response[k]].cpu()
        timings["old_logprobs_s"] = time.monotonic() - t0

        # K mini-batches (split by groups, in order), one optimizer step each.
        metrics = []
        for k, mini in enumerate(minis):
            rows = [i for g in mini for i in rows_of_group[g]]
            phase(f"mini-batch {k + 1}/{len(minis)}")
            t1 = time.monotonic()
            line = self._mini_batch(batch, rows, self._mine([rows_of_group[g] for g in mini]), lengths,
                                    old if separate_old else None, ref, stats)
            line["update_s"] = round(time.monotonic() - t1, 4)
            line.update({"step": self.step, "optimizer_step": self.optimizer_steps, "mini_batch": k,
                         "old_logprobs_s": round(timings["old_logprobs_s"], 4)})
            line["tokens_per_s"] = sum(lengths[i] for i in rows) / max(line["update_s"], 1e-9)
            metrics.append(line)
        entropy_sum, gap_sum, gap_tokens, ratio_sum = distributed.all_sum(
            [stats.entropy_sum, stats.gap_sum, stats.gap_tokens, stats.ratio_sum], self.world, self.device)
        gap_max = distributed.all_max(stats.gap_max, self.world, self.device)
        ratio_max = distributed.all_max(stats.ratio_max, self.world, self.device)
        ratio_min = -distributed.all_max(-stats.ratio_min, self.world, self.device)
        response_tokens = sum(len(r) for r in batch.response_ids)
        batch_stats = {
            "reward_mean": float(batch.rewards.mean()),
            "advantage_mean": float(batch.advantages.mean()),
            "advantage_std": float(batch.advantages.std()) if n > 1 else 0.0,
            "advantage_min": float(batch.advantages.min()),
            "advantage_max": float(batch.advantages.max()),
            "truncation_masked": int(batch.masked.sum()),
            "truncation_eligible": int(batch.eligible.sum()),
            "zero_variance_groups": batch.zero_variance_groups,
            "groups": batch.groups,
            "samples": n,
            "response_length_mean": response_tokens / n,
            "response_length_max": max(len(r) for r in batch.response_ids),
            "entropy": entropy_sum / max(response_tokens, 1),
            "sampler_gap_mean": gap_sum / gap_tokens if gap_tokens else None,
            "sampler_gap_max": gap_max if gap_tokens else None,
            "sampler_ratio_mean": ratio_sum / gap_tokens if gap_tokens else None,
            "sampler_ratio_max": ratio_max if gap_tokens else None,
            "sampler_ratio_min": ratio_min if gap_tokens else None,
        }
        if self.world:
            batch_stats["ranks"] = self.world.size

        self.step += 1
        for line in metrics:
            line.update(batch_stats)
            line["wall_s"] = round(time.monotonic() - started, 4)
        return metrics

    def skip_step(self, reason: str) -> list[dict]:
        """A step with nothing to train on (dynamic sampling found no informative group):
        weights and optimizer state stay as they are, and the step is counted, so a run
        moves on to the next problems instead of stopping."""
        line = {"step": self.step, "optimizer_step": self.optimizer_steps, "mini_batch": 0, "skipped": reason,
                "groups": 0, "samples": 0}
        self.step += 1
        return [line]

    def _mini_batch(self, batch: Batch, rows: list[int], mine: list[int], lengths: list[int], old: dict | None,
                    ref: dict, stats: "_SampleStats") -> dict:
        """One optimizer step over `rows` (this rank computes `mine` of them); `old` None:
        on-policy, the old log-probs are this pass's own."""
        c = self.config
        counted = [i for i in rows if not bool(batch.masked[i])]
        # The whole mini-batch's denominators (every rank holds the batch): the sum over
        # ranks of their losses is the single-process loss. Sequence modes count every
        # sample, masked or not (mc.train.losses.aggregate).
        norm = {"tokens": float(sum(len(batch.response_ids[i]) for i in counted)) or 1.0, "seqs": float(len(rows)) or 1.0}
        scale = self.world.size if self.world else 1  # DDP / FSDP2 average gradients over ranks
        correcting = c.rollout_is != "none" or c.rollout_rs != "none"
        with_entropy = old is None or c.entropy_coef > 0
        names = ("loss", "pg_loss", "kl", "entropy_loss", "clipped_low", "clipped_high", "clipped", "dual_clipped",
                 "approx_kl", "tokens", "is_weight", "is_capped", "rs_rejected")
        sums = dict.fromkeys(names, 0.0)
        self.optimizer.zero_grad(set_to_none=True)
        for micro in self._micro_batches(mine, lengths):
            if micro is None:  # padding pass: join the collectives, add nothing
                logprobs, _, _ = self._logprobs(self.policy, batch, rows[:1])
                (logprobs.sum() * 0.0).backward()
                continue
            logprobs, entropy, response = self._logprobs(self.policy, batch, micro, with_entropy=with_entropy)
            # Response tokens gathered into [M, width], left-aligned at each response's start.
            new, valid = _response_tokens(logprobs, response)
            entropy_t = _response_tokens(entropy, response)[0] if with_entropy else None
            if old is None:
                old_t = new.detach()
                stats.add_rows(old_t, valid, entropy_t.detach(), [batch.sampler_logprobs[i] for i in micro])
            else:
                old_t = _padded([old[i] for i in micro], new.shape[1], self.device)
            ref_t = _padded([ref[i] for i in micro], new.shape[1], self.device) if ref else None
            kept = torch.tensor([not bool(batch.masked[i]) for i in micro], device=self.device)
            mask = (valid & kept[:, None]).float()
            advantages = batch.advantages[micro].to(self.device)  # [M]
            pg, indicators = clipped_surrogate(new, old_t, advantages, c.clip_low, c.clip_high, c.dual_clip)
            weights = mask
            if correcting:  # rejected tokens get weight 0 and stay in token-mean's denominator (TRL's *_mask modes)
                sampler_t = _padded([torch.tensor(batch.sampler_logprobs[i]) for i in micro], new.shape[1], self.device)
                weights, capped = is_weights(old_t, sampler_t, mask, c.rollout_is, c.rollout_is_cap)
                keep = rejection_mask(old_t, sampler_t, mask, c.rollout_rs, c.rollout_rs_low, c.rollout_rs_high)
                weights = weights * keep
                sums["is_capped"] += float((capped & keep).sum())
                sums["rs_rejected"] += float(mask.sum() - keep.sum())
            per_token = pg * weights
            kl = None
            if self.ref is not None:
                kl = kl_k3(new, ref_t)
                per_token = per_token + c.kl_coef * kl
            if c.entropy_coef > 0:
                per_token = per_token - c.entropy_coef * entropy_t
            loss = aggregate(per_token, mask, c.loss_agg, batch.max_tokens, norm)
            (loss * scale).backward()
            with torch.no_grad():
                sums["loss"] += float(loss)
                sums["pg_loss"] += float(aggregate(pg * weights, mask, c.loss_agg, batch.max_tokens, norm))
                if kl is not None:
                    sums["kl"] += float(aggregate(kl, mask, c.loss_agg, batch.max_tokens, norm))
                if c.entropy_coef > 0:
                    sums["entropy_loss"] += float(aggregate(entropy_t, mask, c.loss_agg, batch.max_tokens, norm))
                for name in ("clipped_low", "clipped_high", "clipped", "dual_clipped"):
                    sums[name] += float((indicators[name] * mask).sum())
                sums["approx_kl"] += float(((old_t - new) * mask).sum())
                sums["tokens"] += float(mask.sum())
                sums["is_weight"] += float((weights * mask).sum())
        sums = dict(zip(sums, distributed.all_sum(list(sums.values()), self.world, self.device)))
        grad_norm = torch.nn.utils.clip_grad_norm_(self.policy.parameters(), c.max_grad_norm if c.max_grad_norm > 0 else float("inf"))
        if hasattr(grad_norm, "full_tensor"):  # FSDP2: a DTensor
            grad_norm = grad_norm.full_tensor()
        lr = c.lr * min(1.0, (self.optimizer_steps + 1) / c.warmup_steps) if c.warmup_steps else c.lr
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        finite = bool(torch.isfinite(grad_norm))  # the same on every rank: the norm is global
        if finite:
            self.optimizer.step()
            self.optimizer_steps += 1
        else:  # verl does the same: a NaN or inf gradient would poison the weights and Adam's moments
            self.optimizer.zero_grad(set_to_none=True)
        tokens = max(sums["tokens"], 1.0)
        line = {
            "loss": sums["loss"], "pg_loss": sums["pg_loss"], "kl_loss": sums["kl"] if self.ref is not None else None,
            "clip_frac_low": sums["clipped_low"] / tokens, "clip_frac_high": sums["clipped_high"] / tokens,
            "clip_frac": sums["clipped"] / tokens, "dual_clip_frac": sums["dual_clipped"] / tokens,
            "approx_kl": sums["approx_kl"] / tokens, "grad_norm": float(grad_norm), "lr": lr,
        }
        if c.entropy_coef > 0:
            line["entropy_loss"] = sums["entropy_loss"]
        if correcting:
            line.update({"rollout_is_weight_mean": sums["is_weight"] / tokens, "rollout_is_capped_frac": sums["is_capped"] / tokens,
                         "rollout_rs_rejected_frac": sums["rs_rejected"] / tokens})
        if not finite:
            line["skipped"] = "non-finite gradient"
        return line

    # -- saving -------------------------------------------------------------------

    @property
    def saved_model(self):
        """What a checkpoint saves: the adapter (LoRA) or the whole model."""
        return self.adapter if self.adapter is not None else self.model

    @property
    def adapter_base(self) -> str | None:
        """The base model of a LoRA policy (absolute path or hub id)."""
        return None if self.adapter is None else model_ref(lora.model_source(self.policy_path))

    @property
    def main(self) -> bool:
        """Whether this process writes (rank 0, or the only process)."""
        return self.world is None or self.world.main

    def save(self, out_dir: str, extra_files: dict[str, Callable[[str], None]] | None = None) -> None:
        """Every rank calls it (FSDP2 gathers shards); rank 0 writes the one checkpoint
        (with `extra_files` in its trainer/ folder: see save_checkpoint)."""
        meta = {
            "step": self.step,
            "optimizer_steps": self.optimizer_steps,
            "flags": {**asdict(self.config), "ref_model": model_ref(self.config.ref_model)},
            "ref_model": self.ref_path,  # absolute: the checkpoint is read from other working directories
            "parent": model_ref(self.policy_path),
        }
        if self.data_position is not None:
            meta["data_position"] = self.data_position
        if self.adapter is not None:
            meta["base_model"] = lora.mark_base(self.adapter, self.policy_path)
        if self.world and self.config.fsdp:
            state, optimizer_state = distributed.full_states(self.policy, self.optimizer, self.world, True, "model.")
            if self.main:
                # Gathered copies of tied weights are separate tensors: keep the HF model's own names only.
                own = {n for n, _ in self.model.named_parameters()} | {n for n, _ in self.model.named_buffers()}
                state = {k: v for k, v in state.items() if k in own}
                save_checkpoint(out_dir, self.model, self.tokenizer, None, meta, state_dict=state, optimizer_state=optimizer_state)
        elif self.main:
            save_checkpoint(out_dir, self.saved_model, self.tokenizer, self.optimizer, meta, extra_files=extra_files)
        distributed.barrier(self.world)


def _response_tokens(values: torch.Tensor, response: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """values [M, L-1] at next-token positions, response [M, L-1] bool (one contiguous run
    per row) -> (values of the response tokens [M, width] left-aligned, valid [M, width])."""
    counts = response.sum(dim=1)  # [M]
    starts = response.int().argmax(dim=1)  # [M] first response position
    width = max(int(counts.max()), 1)
    offsets = torch.arange(width, device=values.device)  # [width]
    positions = (starts[:, None] + offsets[None, :]).clamp(max=values.shape[1] - 1)  # [M, width]
    valid = offsets[None, :] < counts[:, None]
    return values.gather(1, positions) * valid, valid


def _padded(rows: list[torch.Tensor], width: int, device) -> torch.Tensor:
    out = torch.zeros((len(rows), width), device=device)
    for k, row in enumerate(rows):
        out[k, : len(row)] = row.to(device)
    return out


class _SampleStats:
    """Entropy, the sampler/trainer log-prob gap and their ratio, over samples' response tokens."""

    def __init__(self):
        self.entropy_sum, self.gap_sum, self.gap_max, self.gap_tokens = 0.0, 0.0, 0.0, 0
        self.ratio_sum, self.ratio_max, self.ratio_min = 0.0, 0.0, math.inf

    def add_rows(self, logprobs: torch.Tensor, valid: torch.Tensor, entropy: torch.Tensor, sampled: list) -> None:
        """A gathered [M, width] block of response tokens (see `_response_tokens`) and
        each row's sampler log-probs (None when the sampler gave none)."""
        self.entropy_sum += float((entropy.double() * valid).sum())
        counts = valid.sum(dim=1).tolist()
        given = [k for k, lp in enumerate(sampled) if lp is not None and len(lp) == counts[k]]
        if given:
            sampler = _padded([torch.tensor(sampled[k], dtype=torch.float32) for k in given], logprobs.shape[1], logprobs.device)
            signed = logprobs[given] - sampler
            keep = valid[given]
            diff = signed.abs() * keep
            self.gap_sum += float(diff.sum())
            self.gap_max = max(self.gap_max, float(diff.max()))
            self.gap_tokens += int(keep.sum())
            # pi_old / pi_sampler per token, bounded as the correction bounds it
            ratio = torch.exp(signed.clamp(-LOG_RATIO_BOUND, LOG_RATIO_BOUND).double())[keep]
            if ratio.numel():
                self.ratio_sum += float(ratio.sum())
                self.ratio_max = max(self.ratio_max, float(ratio.max()))
                self.ratio_min = min(self.ratio_min, float(ratio.min()))


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
