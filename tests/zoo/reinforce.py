# In the style of pytorch/examples reinforcement_learning/reinforce.py (BSD-3-Clause): the policy,
# its episode bookkeeping and finish_episode, with a recorded episode instead of a gym env.
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.distributions import Categorical

gamma = 0.99
eps = np.finfo(np.float32).eps.item()


class Policy(nn.Module):
    def __init__(self):
        super(Policy, self).__init__()
        self.affine1 = nn.Linear(4, 128)
        self.dropout = nn.Dropout(p=0.6)
        self.affine2 = nn.Linear(128, 2)

        self.saved_log_probs = []
        self.rewards = []

    def forward(self, x):
        x = self.affine1(x)
        x = self.dropout(x)
        x = F.relu(x)
        action_scores = self.affine2(x)
        return F.softmax(action_scores, dim=1)


def make(seed=1):
    torch.manual_seed(seed)
    policy = Policy()
    optimizer = optim.Adam(policy.parameters(), lr=1e-2)
    return policy, optimizer, None


def select_action(policy, state, action):
    state = torch.from_numpy(state).float().unsqueeze(0)
    probs = policy(state)
    m = Categorical(probs)
    action = torch.tensor([action])  # replayed, where the example samples m.sample()
    policy.saved_log_probs.append(m.log_prob(action))
    return action.item(), probs


def train_step(policy, optimizer, states, actions, rewards):
    policy.eval()  # dropout off: the same policy in both libraries
    outputs = [select_action(policy, s, int(a))[1] for s, a in zip(states.numpy(),
                                                                    actions.numpy())]
    policy.rewards = list(rewards.numpy())
    R = 0
    policy_loss = []
    returns = []
    for r in policy.rewards[::-1]:
        R = r + gamma * R
        returns.insert(0, R)
    returns = torch.tensor(returns)
    returns = (returns - returns.mean()) / (returns.std() + eps)
    for log_prob, R in zip(policy.saved_log_probs, returns):
        policy_loss.append(-log_prob * R)
    optimizer.zero_grad()
    policy_loss = torch.cat(policy_loss).sum()
    policy_loss.backward()
    optimizer.step()
    del policy.rewards[:]
    del policy.saved_log_probs[:]
    return torch.cat(outputs), policy_loss


INPUTS = {"states": ("normal", (12, 4)), "actions": ("labels", (12,), 2),
          "rewards": ("unit", (12,))}
