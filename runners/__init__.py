"""The commands, on top of everything else: each module is one `make` target, run as `python -m runners.<name>`.

evaluate (make eval), sf2t (make sf2t), savi (make savi), bench (make bench), seed (make
leaderboard-seeds), device_bundle (make device-bundle, whose run.py is device_node); finetune holds what the
two fine-tuning commands share; device_check runs the adapters on an accelerator. Runners may import every
other package of the project; nothing imports them (tests/test_layout.py).
"""
