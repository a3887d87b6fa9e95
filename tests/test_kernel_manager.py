"""The kernel manager that runs the report notebooks."""

from __future__ import annotations

import asyncio

import pytest

from acctlib import render


def test_shutdown_sends_the_kernel_no_interrupt(monkeypatch):
    manager = render.LocalKernelManager()
    signals = []

    async def record(signum):
        signals.append(signum)

    monkeypatch.setattr(manager, "_async_signal_kernel", record)
    manager.shutting_down = True
    asyncio.run(manager._async_interrupt_kernel())
    assert signals == []


def test_interrupt_outside_shutdown_reaches_jupyter_client():
    manager = render.LocalKernelManager()
    with pytest.raises(RuntimeError, match="No kernel is running"):
        asyncio.run(manager._async_interrupt_kernel())
