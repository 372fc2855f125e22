"""Fine-tuning after pre-training: downstream tasks, classifier heads, pretrained vs scratch side by side.

- `tasks.py`: the labelled examples (built-in "Who wrote it?" and "Does B continue A?", a CSV, a Hub dataset),
  split into training and validation by document so that no chapter, play or address is in both;
- `heads.py`: a classifier on any body (ours or a Hub model): BERT-style from [CLS], GPT-style from the last
  token with GPT-1's start / delimiter / extract tokens; the input as the model sees it;
- `run.py`: the side-by-side run (the same examples, batches, steps and seed for both models) on the training
  loop's `Trainer`, the label sweep, predictions, and saving a fine-tuned model into the session.
"""
