"""The peer: SpiffWorkflow running the same lifecycle, one web request per action.

``suggestion.bpmn`` holds the suggestion's steps as user tasks in sequence, the expert
review as one parallel multi-instance user task for three experts. Each action does what
a web request does with SpiffWorkflow: in one SQLite transaction (``BEGIN IMMEDIATE``,
as the engine), load the instance's serialized state, deserialize it, complete the ready
task with the action's data, run the engine steps, serialize with Spiff's JSON
serializer and store the state back. The parsed spec is cached, as a server would. The
store is configured as the engine's, its log checkpointed the same way (``raw_floor``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from time import perf_counter
from typing import Any

from lifecycle import START_DATA, STEPS
from raw_floor import sqlite_connection
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from workflow import checkpoints

BPMN_FILE = Path(__file__).with_name("suggestion.bpmn")


class SpiffPeer:
    def __init__(self, path: Path) -> None:
        parser = BpmnParser()
        parser.add_bpmn_file(str(BPMN_FILE))
        self.spec = parser.get_spec("suggestion")
        self.serializer = BpmnWorkflowSerializer()
        self.conn: sqlite3.Connection = sqlite_connection(str(path))
        self.checkpointer = checkpoints.for_file(path)
        self.conn.execute("CREATE TABLE IF NOT EXISTS spiff_instances ("
                          "id INTEGER PRIMARY KEY, version INTEGER NOT NULL, "
                          "state TEXT NOT NULL)")
        self.state_bytes = 0
        self.completed = False

    def start(self) -> int:
        workflow = BpmnWorkflow(self.spec)
        workflow.data.update(START_DATA)
        workflow.do_engine_steps()
        state = self.serializer.serialize_json(workflow)
        with self.checkpointer.writing():
            self.conn.execute("BEGIN IMMEDIATE")
            cursor = self.conn.execute(
                "INSERT INTO spiff_instances (version, state) VALUES (1, ?) RETURNING id",
                (state,))
            instance_id = int(cursor.fetchone()[0])
            self.conn.commit()
        return instance_id

    def act(self, instance_id: int, data: dict[str, Any]) -> None:
        with self.checkpointer.writing():
            self._act(instance_id, data)

    def _act(self, instance_id: int, data: dict[str, Any]) -> None:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        version, state = conn.execute(
            "SELECT version, state FROM spiff_instances WHERE id = ?", (instance_id,)).fetchone()
        workflow = self.serializer.deserialize_json(state)
        task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
        task.data.update(data)
        task.run()
        workflow.do_engine_steps()
        state = self.serializer.serialize_json(workflow)
        self.state_bytes = len(state)
        self.completed = workflow.is_completed()
        updated = conn.execute(
            "UPDATE spiff_instances SET version = ?, state = ? WHERE id = ? AND version = ?",
            (version + 1, state, instance_id, version)).rowcount
        if updated != 1:
            conn.rollback()
            raise RuntimeError(f"spiff instance {instance_id} changed underneath")
        conn.commit()

    def run_instance(self, timings: list[float] | None = None) -> None:
        began = perf_counter()
        instance_id = self.start()
        if timings is not None:
            timings.append(perf_counter() - began)
        for _action, _who, data in STEPS:
            began = perf_counter()
            self.act(instance_id, data)
            if timings is not None:
                timings.append(perf_counter() - began)
        if not self.completed:
            raise RuntimeError(f"spiff instance {instance_id} did not complete")

    def close(self) -> None:
        self.conn.close()
