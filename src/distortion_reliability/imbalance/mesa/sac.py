"""Soft actor-critic (Haarnoja et al., 2018) for MESA's meta-sampler: a tanh-squashed Gaussian policy over
the action mu in [0, 1], twin Q critics with target copies, a replay buffer and a fixed entropy temperature."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

# log_std bounds of the policy: wide enough to explore [0, 1], narrow enough to stay finite.
_LOG_STD_MIN, _LOG_STD_MAX = -20.0, 2.0


def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, n_out))


class _GaussianPolicy(nn.Module):
    """Actor: a tanh-squashed Gaussian over ``mu``, rescaled from ``(-1, 1)`` to ``(0, 1)``."""

    def __init__(self, state_dim: int, hidden: int):
        super().__init__()
        self.body = _mlp(state_dim, hidden, 2)

    def forward(self, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_std = self.body(state).chunk(2, dim=-1)
        return mean, log_std.clamp(_LOG_STD_MIN, _LOG_STD_MAX)

    def sample(self, state: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Reparameterised action in (0, 1) and its log-density (change of variables included)."""
        mean, log_std = self(state)
        std = log_std.exp()
        pre_tanh = mean + std * noise
        squashed = torch.tanh(pre_tanh)
        log_prob = torch.distributions.Normal(mean, std).log_prob(pre_tanh)
        # d action / d pre_tanh = 0.5 * (1 - tanh^2); 1e-6 keeps the log finite at saturation.
        log_prob = log_prob - torch.log(0.5 * (1 - squashed.pow(2)) + 1e-6)
        return (squashed + 1) / 2, log_prob.sum(dim=-1, keepdim=True)

    def mean_action(self, state: torch.Tensor) -> torch.Tensor:
        return (torch.tanh(self(state)[0]) + 1) / 2


class _TwinQ(nn.Module):
    """Two independent Q(state, action) critics; their minimum curbs value over-estimation."""

    def __init__(self, state_dim: int, hidden: int):
        super().__init__()
        self.q1 = _mlp(state_dim + 1, hidden, 1)
        self.q2 = _mlp(state_dim + 1, hidden, 1)

    def forward(self, state: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        sa = torch.cat([state, action], dim=-1)
        return self.q1(sa), self.q2(sa)


class _ReplayBuffer:
    """Fixed-capacity ring buffer of (state, action, reward, next_state, done) transitions."""

    def __init__(self, capacity: int, state_dim: int):
        self.states = np.zeros((capacity, state_dim), np.float32)
        self.actions = np.zeros((capacity, 1), np.float32)
        self.rewards = np.zeros((capacity, 1), np.float32)
        self.next_states = np.zeros((capacity, state_dim), np.float32)
        self.dones = np.zeros((capacity, 1), np.float32)
        self.capacity, self.size, self.cursor = capacity, 0, 0

    def push(self, state, action, reward, next_state, done) -> None:
        i = self.cursor
        self.states[i], self.actions[i], self.rewards[i] = state, action, reward
        self.next_states[i], self.dones[i] = next_state, float(done)
        self.cursor = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        rows = rng.choice(self.size, size=batch_size, replace=False)
        return self.states[rows], self.actions[rows], self.rewards[rows], self.next_states[rows], self.dones[rows]


class _SACAgent:
    """Soft actor-critic (Haarnoja et al., 2018) with a fixed entropy temperature."""

    def __init__(self, state_dim: int, hidden: int, lr: float, gamma: float, tau: float, alpha: float,
                 device: torch.device, seed: int):
        # Initialise the networks from our own seed without disturbing the caller's global RNG.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.actor = _GaussianPolicy(state_dim, hidden).to(device)
            self.critic = _TwinQ(state_dim, hidden).to(device)
            self.critic_target = _TwinQ(state_dim, hidden).to(device)
        self.critic_target.load_state_dict(self.critic.state_dict())
        self.critic_target.requires_grad_(False)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=lr)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=lr)
        self.gamma, self.tau, self.alpha, self.device = gamma, tau, alpha, device
        self.noise = torch.Generator().manual_seed(seed + 1)

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(array, dtype=torch.float32, device=self.device)

    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn((n, 1), generator=self.noise).to(self.device)

    def act(self, state: np.ndarray, explore: bool) -> float:
        """Action for one state: a policy sample while exploring, the mean action otherwise."""
        with torch.no_grad():
            s = self._tensor(state)[None]
            action = self.actor.sample(s, self._noise(1))[0] if explore else self.actor.mean_action(s)
        return float(action.item())

    def update(self, batch: tuple[np.ndarray, ...]) -> None:
        """One gradient step on both critics and the actor, then a soft target update."""
        s, a, r, s2, d = (self._tensor(x) for x in batch)
        with torch.no_grad():
            a2, logp2 = self.actor.sample(s2, self._noise(len(s2)))
            q_next = torch.min(*self.critic_target(s2, a2)) - self.alpha * logp2
            target = r + self.gamma * (1 - d) * q_next
        q1, q2 = self.critic(s, a)
        critic_loss = nn.functional.mse_loss(q1, target) + nn.functional.mse_loss(q2, target)
        self.critic_opt.zero_grad()
        critic_loss.backward()
        self.critic_opt.step()

        new_a, logp = self.actor.sample(s, self._noise(len(s)))
        actor_loss = (self.alpha * logp - torch.min(*self.critic(s, new_a))).mean()
        self.actor_opt.zero_grad()
        actor_loss.backward()
        self.actor_opt.step()

        with torch.no_grad():
            for target_p, p in zip(self.critic_target.parameters(), self.critic.parameters()):
                target_p.lerp_(p, self.tau)
